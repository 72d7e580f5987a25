import { describe, expect, it } from "vitest";
import type { AgentState, AgentStatus, RunState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { makeAgent, makeRun } from "./fixtures.js";

type AgentSpec = [domain: string, status: AgentStatus, done: number, total: number, error?: string];

function agent([domain, status, done, total, error]: AgentSpec, index: number): AgentState {
  return makeAgent(domain, status, done, total, {
    agentId: domain.length >= 3 ? `impl-${domain.slice(0, 3).toLowerCase()}-163000` : `impl-x${index}-163000`,
    error: error ?? null,
  });
}

function run(event: string, specs: AgentSpec[], extra: Partial<RunState> = {}): RunState {
  return makeRun(
    specs.map((spec, index) => agent(spec, index)),
    { seq: 4, event, ...extra },
  );
}

/** Sets when an agent started and finished (times of the run's day, UTC). */
function worked(state: RunState, agentId: string, from: string | null, to: string | null): void {
  const agent = state.agents[agentId]!;
  agent.startedAt = from === null ? null : `2025-10-19T${from}.000Z`;
  agent.finishedAt = to === null ? null : `2025-10-19T${to}.000Z`;
}

const MARKER = "<!-- parallel-progress:progress run=EPIC-007-20251019T163000Z-ab12 seq=4 -->";
const FINAL_MARKER = "<!-- parallel-progress:final run=EPIC-007-20251019T163000Z-ab12 -->";

// The guide's four examples, verbatim.
const INITIALIZED = `## 🔄 Parallel Execution Progress

**Parallel execution initialized**

**Mode:** Parallel (3 domains)
**Started:** 2025-10-19 16:30:00

| Domain | Agent | Status | Files | Progress |
|--------|-------|--------|-------|----------|
| backend | impl-bac-163000 | ⏳ Pending | 0/0 | 0% |
| frontend | impl-fro-163000 | ⏳ Pending | 0/0 | 0% |
| tests | impl-tes-163000 | ⏳ Pending | 0/0 | 0% |

**Overall:** 0% (0/0 files)`;

const UPDATED = `## 🔄 Parallel Execution Progress

**Agent impl-bac-163000 progress updated**

**Mode:** Parallel (3 domains)
**Started:** 2025-10-19 16:30:00

| Domain | Agent | Status | Files | Progress |
|--------|-------|--------|-------|----------|
| backend | impl-bac-163000 | 🔄 In Progress | 3/7 | 43% |
| frontend | impl-fro-163000 | ⏳ Pending | 0/5 | 0% |
| tests | impl-tes-163000 | ⏳ Pending | 0/4 | 0% |

**Overall:** 19% (3/16 files)`;

const COMPLETED = `## 🔄 Parallel Execution Progress

**Agent impl-bac-163000 completed**

**Mode:** Parallel (3 domains)
**Started:** 2025-10-19 16:30:00

| Domain | Agent | Status | Files | Progress |
|--------|-------|--------|-------|----------|
| backend | impl-bac-163000 | ✅ Completed | 7/7 | 100% |
| frontend | impl-fro-163000 | 🔄 In Progress | 3/5 | 60% |
| tests | impl-tes-163000 | ⏳ Pending | 0/4 | 0% |

**Overall:** 62% (10/16 files)`;

const FINAL = `## 🔄 Parallel Execution Progress

**Parallel execution completed**

**Mode:** Parallel (3 domains)
**Started:** 2025-10-19 16:30:00

| Domain | Agent | Status | Files | Progress |
|--------|-------|--------|-------|----------|
| backend | impl-bac-163000 | ✅ Completed | 7/7 | 100% |
| frontend | impl-fro-163000 | ✅ Completed | 5/5 | 100% |
| tests | impl-tes-163000 | ✅ Completed | 4/4 | 100% |

**Overall:** 100% (16/16 files)

## 🎉 Final Summary

**Total Duration:** 12 minutes
**Total Files:** 16/16

### Merge Results

All parallel worktrees merged successfully.
- backend: 7 files integrated
- frontend: 5 files integrated
- tests: 4 files integrated

Conflict resolution: 0 conflicts
Integration tests: PASSED`;

// As the guide passes it: with the surrounding newlines of a Python triple-quoted string.
const MERGE_SUMMARY = `
All parallel worktrees merged successfully.
- backend: 7 files integrated
- frontend: 5 files integrated
- tests: 4 files integrated

Conflict resolution: 0 conflicts
Integration tests: PASSED
`;

// Listed out of order on purpose: the table sorts by domain.
const finished: AgentSpec[] = [
  ["tests", "completed", 4, 4],
  ["backend", "completed", 7, 7],
  ["frontend", "completed", 5, 5],
];

const AGENTS_LINE = /^\*\*Agents:\*\* \d+ pending, \d+ running, \d+ completed, \d+ failed(, \d+ cancelled)?$/;

/** The guide's example is the start of the body, and the line after it is the Agents line. */
function expectGuidePrefix(body: string, guide: string): void {
  expect(body.startsWith(`${guide}\n`)).toBe(true);
  expect(body.slice(guide.length + 1).split("\n")[0]).toMatch(AGENTS_LINE);
}

const FINAL_TABLE = FINAL.slice(0, FINAL.indexOf("\n\n## 🎉"));
const FINAL_SUMMARY = FINAL.slice(FINAL_TABLE.length);

describe("the guide's examples, byte for byte", () => {
  it("initialized", () => {
    const state = run("Parallel execution initialized", [
      ["backend", "pending", 0, 0],
      ["frontend", "pending", 0, 0],
      ["tests", "pending", 0, 0],
    ]);
    const body = renderProgressComment(state);
    expectGuidePrefix(body, INITIALIZED);
    expect(body).toBe(`${INITIALIZED}\n**Agents:** 3 pending, 0 running, 0 completed, 0 failed\n\n${MARKER}`);
  });

  it("progress updated", () => {
    const state = run("Agent impl-bac-163000 progress updated", [
      ["backend", "in_progress", 3, 7],
      ["frontend", "pending", 0, 5],
      ["tests", "pending", 0, 4],
    ]);
    const body = renderProgressComment(state);
    expectGuidePrefix(body, UPDATED);
    expect(body).toBe(`${UPDATED}\n**Agents:** 2 pending, 1 running, 0 completed, 0 failed\n\n${MARKER}`);
  });

  it("agent completed", () => {
    const state = run("Agent impl-bac-163000 completed", [
      ["tests", "pending", 0, 4],
      ["frontend", "in_progress", 3, 5],
      ["backend", "completed", 7, 7],
    ]);
    const body = renderProgressComment(state);
    expectGuidePrefix(body, COMPLETED);
    expect(body).toBe(`${COMPLETED}\n**Agents:** 1 pending, 1 running, 1 completed, 0 failed\n\n${MARKER}`);
  });

  it("final summary (12 minutes and some seconds), then each agent's duration", () => {
    const state = run("Parallel execution completed", finished, {
      completedAt: "2025-10-19T16:42:37.000Z",
      mergeSummary: MERGE_SUMMARY,
    });
    worked(state, "impl-bac-163000", "16:30:05", "16:37:10");
    worked(state, "impl-fro-163000", "16:30:06", "16:35:20");
    worked(state, "impl-tes-163000", "16:31:00", "16:42:30");
    const body = renderFinalComment(state);
    expectGuidePrefix(body, FINAL_TABLE);
    expect(body).toBe(
      [
        `${FINAL_TABLE}\n**Agents:** 0 pending, 0 running, 3 completed, 0 failed${FINAL_SUMMARY}`,
        "### Agent Durations",
        [
          "- backend (impl-bac-163000): ✅ Completed in 7 minutes",
          "- frontend (impl-fro-163000): ✅ Completed in 5 minutes",
          "- tests (impl-tes-163000): ✅ Completed in 11 minutes",
        ].join("\n"),
        "### Timeline",
        [
          "```mermaid",
          "gantt",
          "    title Agents (UTC)",
          "    dateFormat YYYY-MM-DD HH:mm:ss",
          "    axisFormat %H:%M",
          "    section Agents",
          "    ✅ backend :done, 2025-10-19 16:30:05, 2025-10-19 16:37:10",
          "    ✅ frontend :done, 2025-10-19 16:30:06, 2025-10-19 16:35:20",
          "    ✅ tests :done, 2025-10-19 16:31:00, 2025-10-19 16:42:30",
          "```",
        ].join("\n"),
        FINAL_MARKER,
      ].join("\n\n"),
    );
    expect(parseMarker(body)).toEqual({ kind: "final", runId: state.runId, seq: null });
    // `now` changes nothing in a finalized run without unfinished agents.
    expect(renderFinalComment(state, { now: Date.parse("2025-10-20T10:00:00Z") })).toBe(body);
  });

  it("the progress comment of the finished run is the final comment's first part", () => {
    const state = run("Parallel execution completed", finished, { completedAt: "2025-10-19T16:42:00.000Z" });
    const progress = renderProgressComment(state);
    const final = renderFinalComment(state);
    expect(progress.slice(0, -MARKER.length)).toBe(final.slice(0, final.indexOf("## 🎉")));
    expectGuidePrefix(progress, FINAL_TABLE);
  });
});

describe("details around the guide's format", () => {
  it("says 1 domain, shows cancelled agents and lists failures after Overall", () => {
    const state = run("Agent impl-bac-163000 failed", [
      ["backend", "failed", 2, 7, "Compilation error in main.py"],
      ["docs", "cancelled", 0, 1, "not needed | @alice"],
      ["ops", "cancelled", 0, 0],
      ["qa", "failed", 0, 0],
    ]);
    const body = renderProgressComment(state);
    expect(body).toContain("**Mode:** Parallel (4 domains)");
    expect(body).toContain("| docs | impl-doc-163000 | ⏹️ Cancelled | 0/1 | 0% |");
    expect(body).toContain(
      [
        "**Overall:** 25% (2/8 files)",
        "**Agents:** 0 pending, 0 running, 0 completed, 2 failed, 2 cancelled",
        "",
        "**Failures:**",
        "- backend (impl-bac-163000): Compilation error in main.py",
        "- qa (impl-x3-163000): no reason given",
        "- docs (impl-doc-163000): cancelled: not needed \\| @\u200Dalice",
        "",
        MARKER,
      ].join("\n"),
    );
    const one = run("Parallel execution initialized", [["backend", "pending", 0, 0]]);
    expect(renderProgressComment(one)).toContain("**Mode:** Parallel (1 domain)\n");
  });

  it("says so when no merge summary was given, and measures an unfinalized run to its last update", () => {
    const state = run("Agent impl-bac-163000 completed", [["backend", "completed", 0, 0]]);
    state.agents["impl-bac-163000"]!.updatedAt = "2025-10-19T17:35:10.000Z";
    const body = renderFinalComment(state);
    expect(body).toContain("**Total Duration:** 1 hour 5 minutes\n**Total Files:** 0/0");
    expect(body).toContain(
      "### Merge Results\n\nNo merge summary was given.\n\n### Agent Durations\n\n- backend (impl-bac-163000): ✅ Completed in 1 hour 5 minutes\n\n### Timeline\n\n```mermaid\n",
    );
    expect(body).toContain("**Overall:** 100% (0/0 files)");
  });

  it("keeps merge summary markdown but not its HTML, mentions or top-level headings", () => {
    const state = run("Parallel execution completed", finished, {
      completedAt: "2025-10-19T16:42:00.000Z",
      mergeSummary: "# Done\n**ok** <img src=x> @bob\n```\nunclosed <!-- parallel-progress:final run=x -->",
    });
    const body = renderFinalComment(state);
    expect(body).toContain(
      "#### Done\n**ok** &lt;img src=x> @\u200Dbob\n```\nunclosed &lt;!-- parallel-progress",
    );
    expect(body).toContain("-->\n```\n\n### Agent Durations\n\n- backend");
    expect(body.endsWith(`\n\n${FINAL_MARKER}`)).toBe(true);
    expect(body.match(/<!--/g)).toHaveLength(1);
  });
});

describe("a merge summary the run cut when it kept it", () => {
  it("counts the characters left out, and takes a junk count (a database's run is not checked) as none", () => {
    const at = { completedAt: "2025-10-19T16:42:00.000Z" };
    const kept = (mergeSummaryCut: unknown) =>
      renderFinalComment({ ...makeRun([], at), mergeSummary: "short summary…", mergeSummaryCut } as RunState);
    expect(kept(7)).toContain("short summary\n\n*… truncated (7 more characters)*");
    for (const junk of ["7", 1.5, 1e300, -3, null]) {
      const body = kept(junk);
      expect(body).toContain("short summary…");
      expect(body).not.toContain("more characters");
    }
  });
});
