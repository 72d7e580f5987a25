import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AgentStatus, RunState } from "../../src/model/types.js";
import { type CommentParts, fitComment } from "../../src/render/budget.js";
import { DURATIONS_FRAME } from "../../src/render/durations.js";
import { EVENTS_FRAME } from "../../src/render/events.js";
import { inOrder } from "../../src/render/lists.js";
import { parseMarker } from "../../src/render/marker.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { MAX_BARS } from "../../src/render/timeline.js";
import { parseGfm } from "../support/gfm.js";
import { at, makeAgent, makeRun } from "./fixtures.js";

const RUN_ID = "EPIC-9-20251019T163000Z-ff00";

function bigRun(count: number, statusOf: (index: number) => AgentStatus, reason = "x"): RunState {
  const agents = Array.from({ length: count }, (_, index) => {
    const status = statusOf(index);
    return makeAgent(
      `domain-${String(index).padStart(4, "0")}`,
      status,
      status === "completed" ? 10 : 3,
      10,
      {
        agentId: `impl-d${index}-163000`,
        updatedAt: "2025-10-19T16:31:00.000Z",
        error: status === "failed" ? `${reason} #${index}` : null,
        events: [
          { at: "2025-10-19T16:30:30.000Z", message: `started ${reason.slice(0, 50)}` },
          { at: "2025-10-19T16:31:00.000Z", message: "wrote one file" },
        ],
      },
    );
  });
  return makeRun(agents, {
    runId: RUN_ID,
    epicId: "EPIC-9",
    completedAt: "2025-10-19T18:00:00.000Z",
    seq: 3,
    event: "Agent impl-d0-163000 progress updated",
    mergeSummary: `${"Merged with care. @team <b>\n".repeat(20_000)}`,
  });
}

const tableRows = (body: string): number => {
  const table = parseGfm(body).children?.find((node) => node.type === "table");
  return (table?.children?.length ?? 0) - 1;
};

// 1,500 domains: 1,200 completed, 100 failed with 10 kB reasons, 150 running, 50 pending.
const statusOf = (index: number): AgentStatus =>
  index % 15 === 0 ? "failed" : index % 10 === 1 ? "in_progress" : index % 30 === 2 ? "pending" : "completed";
const LONG_REASON = `Compilation error | @alice <script>${"e".repeat(10_000)}`;

describe("big runs fit in a comment", () => {
  const state = bigRun(1500, statusOf, LONG_REASON);
  const agents = Object.values(state.agents);
  const completed = agents.filter((agent) => agent.status === "completed").length;
  const done = agents.reduce((sum, agent) => sum + agent.filesCompleted, 0);
  const overall = `**Overall:** ${Math.round((done / 15_000) * 100)}% (${done}/15000 files)`;

  it("folds completed rows and keeps failed and running ones", () => {
    const body = renderProgressComment(state);
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).toContain("**Mode:** Parallel (1500 domains)");
    expect(body).toContain(`\n\n${overall}\n**Agents:** `);
    expect(body).toContain(`\n\n✅ ${completed.toLocaleString("en-US")} completed domains not listed\n\n`);
    expect(body).not.toContain("✅ Completed |");
    expect(tableRows(body)).toBe(1500 - completed);
    expect(body).toMatch(
      /\*\*Failures:\*\*\n(- domain-\d{4} \(impl-d\d+-163000\): Compilation error \\\| @\u200Dalice &lt;script&gt;e+…\n)+- … and \d+ more\n\n<details><summary>Recent events<\/summary>\n\n(- \*\*domain-\d{4}\*\* .+\n)+- … [\d,]+ more events not shown\n\n<\/details>\n\n<!--/,
    );
    expect(parseMarker(body)).toEqual({ kind: "progress", runId: RUN_ID, seq: 3 });
  });

  it("the final comment also fits, its merge summary cut", () => {
    const body = renderFinalComment(state);
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).toContain("**Mode:** Parallel (1500 domains)");
    expect(body).toContain(`\n\n${overall}\n**Agents:** `);
    expect(body).toContain(`**Total Duration:** 1 hour 30 minutes\n**Total Files:** ${done}/15000`);
    expect(body).toMatch(
      /### Merge Results\n\nMerged with care\. [\s\S]+\n\n\*… truncated \(\d+ more characters\)\*\n\n### Agent Durations\n\n- … and 1,500 more\n\n### Timeline\n\n```mermaid\n[^`]+\n```\n\n<!--/,
    );
    expect(tableRows(body)).toBeGreaterThan(0);
    expect(parseMarker(body)).toEqual({ kind: "final", runId: RUN_ID, seq: null });
  });

  it("cuts the table with failed and running rows first when even that is too long", () => {
    const running = bigRun(3000, (index) =>
      index % 100 === 0 ? "failed" : index % 3 === 0 ? "pending" : "in_progress",
    );
    const body = renderProgressComment(running, { maxLength: 20_000 });
    expect(body.length).toBeLessThanOrEqual(20_000);
    expect(body).toContain("**Mode:** Parallel (3000 domains)");
    const shown = tableRows(body);
    expect(body).toContain(
      `\n\n… and ${(3000 - shown).toLocaleString("en-US")} more domains\n\n**Overall:**`,
    );
    expect(body).not.toContain("⏳ Pending |");
    expect(body.match(/❌ Failed \|/g)).toHaveLength(30);
    expect(body).not.toContain("completed domains not listed");
  });

  it("never exceeds maxLength, down to tiny limits", () => {
    // One limit per regime: nothing, the marker only, the header, part of the table, most of it.
    for (const maxLength of [0, 1, 80, 300, 1000, 5000, 20_000]) {
      for (const render of [renderProgressComment, renderFinalComment]) {
        const body = render(state, { maxLength, now: Date.parse("2025-10-19T17:00:00.000Z") });
        expect(body.length).toBeLessThanOrEqual(maxLength);
      }
    }
    expect(renderProgressComment(state, { maxLength: 100 })).toMatch(
      /\n\n<!-- parallel-progress:progress run=EPIC-9-\S+ seq=3 -->$/,
    );
    const small = renderFinalComment(state, { maxLength: 2000 });
    expect(small).toContain("**Mode:** Parallel (1500 domains)");
    expect(small).toContain(overall);
    expect(parseMarker(small)?.kind).toBe("final");
  });

  it("cuts the agent durations and the events before folding any row", () => {
    const done = bigRun(300, () => "completed");
    done.mergeSummary = "All merged.";
    const whole = renderFinalComment(done);
    const durations = whole.slice(
      whole.indexOf("### Agent Durations"),
      whole.lastIndexOf("\n\n### Timeline"),
    );
    const events = whole.slice(whole.indexOf("<details>"), whole.indexOf("</details>") + "</details>".length);
    const maxLength = whole.length - events.length - Math.floor(durations.length / 2);
    const body = renderFinalComment(done, { maxLength });
    expect(body.length).toBeLessThanOrEqual(maxLength);
    expect(tableRows(body)).toBe(300);
    // No event line is left, and the body says how many are not shown.
    expect(body).not.toMatch(/^- \*\*domain-/m);
    expect(body).toMatch(/^(- )?… 600 (more|recent) events not shown$/m);
    expect(body).toMatch(
      /\n\nAll merged\.\n\n### Agent Durations\n\n(- domain-\d{4} \(impl-d\d+-163000\): ✅ Completed in 1 minute\n)+- … and \d+ more\n\n### Timeline\n\n```mermaid\n[^`]+\n```\n\n<!--/,
    );
  });

  it("never exceeds maxLength for any run size and limit, and counts the events it leaves out (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.boolean(),
        (count, maxLength, final) => {
          const run = bigRun(count, statusOf, "reason ".repeat(50));
          const now = Date.parse("2025-10-19T17:00:00.000Z");
          const body = (final ? renderFinalComment : renderProgressComment)(run, { maxLength, now });
          expect(body.length).toBeLessThanOrEqual(maxLength);
          if (maxLength >= 1000) {
            expect(body).toContain(`**Mode:** Parallel (${count} ${count === 1 ? "domain" : "domains"})`);
            expect(parseMarker(body)?.runId).toBe(RUN_ID);
          }
          if (final && count > 0 && maxLength >= 2000) expect(body).toContain("\n\n### Agent Durations\n\n");
          if (count > 0 && maxLength >= 1000) {
            // Every event is shown or counted as not shown (two per agent): none left out without a word.
            const shown = body.match(/^- \*\*domain-\d{4}\*\* /gm)?.length ?? 0;
            const cut = /^(?:- )?… ([\d,]+) (?:more|recent) events? not shown$/m.exec(body)?.[1] ?? "0";
            expect(shown + Number(cut.replaceAll(",", ""))).toBe(count * 2);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

const GITHUB_LIMIT = 65_536;

describe("the recent events at GitHub's limit", () => {
  it("leave one line saying how many are not shown, down to the exact limit (fitComment)", () => {
    const items = inOrder([
      "- **a** (impl-a-163000), 16:31:00: hello",
      "- **a** (impl-a-163000), 16:32:00: bye",
    ]);
    const note = "… 2 recent events not shown";
    const rows = Array.from({ length: 20 }, (_, index) => `| a-${index} | ✅ Completed |`);
    const fixed = (padding: number) => ["## 🔄 Parallel Execution Progress", "x".repeat(padding)];
    const parts = (padding: number): CommentParts => ({
      head: fixed(padding),
      tableHeader: "| Domain |\n|--------|",
      rows: rows.map((line) => ({ status: "completed", line })),
      overall: "**Overall:** 100% (1/1 files)",
      failures: [],
      events: { items, frame: EVENTS_FRAME },
      final: null,
      marker: "<!-- parallel-progress:progress run=R seq=1 -->",
    });
    // The fixed parts padded so that they, the table and the note are GitHub's limit exactly.
    const bodyAt = (padding: number, ...extra: string[]) =>
      [
        ...fixed(padding),
        ["| Domain |\n|--------|", ...rows].join("\n"),
        "**Overall:** 100% (1/1 files)",
        ...extra,
        "<!-- parallel-progress:progress run=R seq=1 -->",
      ].join("\n\n");
    const padding = GITHUB_LIMIT - bodyAt(0, note).length;
    expect(fitComment(parts(padding), GITHUB_LIMIT)).toBe(bodyAt(padding, note));
    // One character less: the rows fold, and the events take the room that frees, the body within it.
    const below = fitComment(parts(padding), GITHUB_LIMIT - 1);
    expect(below.length).toBeLessThanOrEqual(GITHUB_LIMIT - 1);
    expect(below).toContain("\n\n✅ 20 completed domains not listed\n\n");
    expect(below).toMatch(
      /<details>[\s\S]*\n- \*\*a\*\* [^\n]+: hello\n- \*\*a\*\* [^\n]+: bye\n[\s\S]*<\/details>\n\n<!--/,
    );
    // Too little room for the note beside the fixed parts: the fixed parts alone, within the limit.
    const bare = fitComment(parts(padding + rows.join("\n").length + 2), GITHUB_LIMIT);
    expect(bare.length).toBeLessThanOrEqual(GITHUB_LIMIT);
    expect(bare).not.toContain("events");
    expect(bare).toMatch(
      /\*\*Overall:\*\* 100% \(1\/1 files\)\n\n<!-- parallel-progress:progress run=R seq=1 -->$/,
    );
  });
});

describe("the final summary's agent durations at GitHub's limit", () => {
  it("keep their heading and the '… and N more' line when the table and merge summary fill the body", () => {
    // 1,800 domains of 50 characters and a 120 kB merge summary: the table and the summary alone overflow.
    const agents = Array.from({ length: 1800 }, (_, index) =>
      makeAgent(`domain-${String(index).padStart(4, "0")}-${"x".repeat(38)}`, "pending", 0, 0, {
        agentId: `impl-dom-163000-${index + 1}`,
      }),
    );
    const state = makeRun(agents, {
      completedAt: "2025-10-19T18:00:00.000Z",
      mergeSummary: "Merged one worktree.\n".repeat(6000),
    });
    const body = renderFinalComment(state, { maxLength: GITHUB_LIMIT });
    expect(body.length).toBeLessThanOrEqual(GITHUB_LIMIT);
    expect(body.length).toBeGreaterThan(GITHUB_LIMIT - 100);
    expect(body).toMatch(
      /\n\n\*… truncated \(\d+ more characters\)\*\n\n### Agent Durations\n\n- … and 1,800 more\n\n### Timeline\n\n```mermaid\n/,
    );
    expect(tableRows(body)).toBeGreaterThan(0);
  });

  it("take their least block before the merge summary, down to the exact limit (fitComment)", () => {
    const items = inOrder(["- a (impl-a-163000): ✅ Completed in 1 minute"]);
    const least = "### Agent Durations\n\n- … and 1 more";
    const parts = (padding: number): CommentParts => ({
      head: ["## 🔄 Parallel Execution Progress", "x".repeat(padding)],
      tableHeader: "| Domain |\n|--------|",
      rows: [], // the table's own cuts are tested above
      overall: "**Overall:** 100% (1/1 files)",
      failures: [],
      events: { items: [], frame: EVENTS_FRAME },
      final: {
        blocks: ["## 🎉 Final Summary", "### Merge Results"],
        summary: "merged ".repeat(20_000),
        durations: { items, frame: DURATIONS_FRAME },
        timeline: { whole: null, plan: () => ({ block: null, cost: 0 }) },
      },
      marker: "<!-- parallel-progress:final run=R -->",
    });
    // The fixed parts (no rows, no summary, no durations) padded so that they and the least durations
    // block (with its blank line) are GitHub's limit exactly.
    const skeletonAt = (padding: number) =>
      [
        "## 🔄 Parallel Execution Progress",
        "x".repeat(padding),
        "| Domain |\n|--------|",
        "**Overall:** 100% (1/1 files)",
        "## 🎉 Final Summary",
        "### Merge Results",
        "<!-- parallel-progress:final run=R -->",
      ].join("\n\n").length;
    const padding = GITHUB_LIMIT - skeletonAt(0) - (least.length + 2);
    const atLimit = fitComment(parts(padding), GITHUB_LIMIT);
    expect(atLimit.length).toBe(GITHUB_LIMIT);
    expect(atLimit).toContain(`### Merge Results\n\n${least}\n\n<!--`);
    // One character less: the least block no longer fits, and the body still does.
    const below = fitComment(parts(padding), GITHUB_LIMIT - 1);
    expect(below.length).toBeLessThanOrEqual(GITHUB_LIMIT - 1);
    expect(below).not.toContain("### Agent Durations");
    // A little more room goes to the merge summary, never in place of the durations.
    const above = fitComment(parts(padding - 200), GITHUB_LIMIT);
    expect(above.length).toBeLessThanOrEqual(GITHUB_LIMIT);
    expect(above).toMatch(
      /### Merge Results\n\nmerged [\s\S]+\n\n### Agent Durations\n\n- … and 1 more\n\n<!--/,
    );
  });
});

describe("the room a folded table frees", () => {
  it("goes to the agent durations and the timeline of a big final summary", () => {
    // 6 top-level agents with 200-character domains, each with 100 completed children and a failed one:
    // the table must fold, and its completed rows alone are about three times the limit.
    const long = (name: string) => `${name}-${"x".repeat(200)}`.slice(0, 200);
    const times = { startedAt: at("16:31:00"), finishedAt: at("16:41:00") };
    const agents = Array.from({ length: 6 }, (_, top) => [
      makeAgent(long(`top${top}`), "completed", 1, 1, { agentId: `impl-t${top}-163000`, ...times }),
      ...Array.from({ length: 100 }, (_, leaf) =>
        makeAgent(long(`t${top}leaf${leaf}`), "completed", 1, 1, {
          agentId: `impl-t${top}l${leaf}-163000`,
          parentId: `impl-t${top}-163000`,
          ...times,
        }),
      ),
      makeAgent(long(`t${top}failed`), "failed", 0, 1, {
        agentId: `impl-t${top}f-163000`,
        parentId: `impl-t${top}-163000`,
        error: "boom",
        ...times,
      }),
    ]).flat();
    const state = makeRun(agents, { completedAt: "2025-10-19T18:00:00.000Z", mergeSummary: "All merged." });
    const body = renderFinalComment(state);
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body).toContain("\n\n✅ 600 completed domains not listed\n\n");
    // The durations and the chart take what the folded table leaves: the body is nearly full.
    expect(body.length).toBeGreaterThan(60_000);
    const durations = body.slice(body.indexOf("### Agent Durations"), body.indexOf("\n\n### Timeline"));
    const listed = durations.match(
      /^- ↳ t\dleaf\d+-x+ \(impl-t\dl\d+-163000\): ✅ Completed in 10 minutes$/gm,
    );
    expect(listed?.length).toBeGreaterThan(100);
    expect(durations).toMatch(/\n- … and [\d,]+ more$/);
    const bars = body
      .slice(body.indexOf("```mermaid"))
      .split("\n")
      .filter((line) => / :\w/.test(line));
    expect(bars.filter((bar) => !/ more /.test(bar))).toHaveLength(MAX_BARS);
  });
});
