import { describe, expect, it } from "vitest";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { at, liveRun, makeAgent, makeRun, ms } from "./fixtures.js";

const MARKER = "<!-- parallel-progress:progress run=EPIC-007-20251019T163000Z-ab12 seq=9 -->";

const LIVE = `## 🔄 Parallel Execution Progress

**Agent impl-bac-163000 progress updated**

**Mode:** Parallel (6 domains)
**Started:** 2025-10-19 16:30:00

| Domain | Agent | Status | Files | Progress |
|--------|-------|--------|-------|----------|
| backend | impl-bac-163000 | 🔄 In Progress | 6/10 | 60% |
| docs | impl-doc-163000 | ⏹️ Cancelled | 0/2 | 0% |
| frontend | impl-fro-163000 | ⚠️ Stalled (18 minutes) | 2/8 | 25% |
| ops | impl-ops-163000 | ⚠️ Stalled (20 minutes) | 0/5 | 0% |
| qa | impl-qa-163000 | ❌ Failed | 1/3 | 33% |
| tests | impl-tes-163000 | ✅ Completed | 4/4 | 100% |

**Overall:** 41% (13/32 files)
**Agents:** 1 pending, 2 running, 1 completed, 1 failed, 1 cancelled, 2 stalled
**ETA:** ~23 minutes

**Failures:**
- qa (impl-qa-163000): Compilation error in main.py
- docs (impl-doc-163000): cancelled: not needed

<details><summary>Recent events</summary>

- **backend** (impl-bac-163000), 16:40:00: ping @\u200Dalice &lt;b&gt;done&lt;/b&gt; \\| ok
- **backend** (impl-bac-163000), 16:45:00: tests green<br>next: docs
- **backend** (impl-bac-163000), 16:49:30: wrote api.ts
- **tests** (impl-tes-163000), 16:44:00: all 4 suites pass

</details>

${MARKER}`;

describe("the comment mid-run, with the time given", () => {
  it("shows counts, ETA, stalled agents, failures and recent events", () => {
    expect(renderProgressComment(liveRun(), { now: ms("16:50:00") })).toBe(LIVE);
  });

  it("without the time: no ETA and no stalled marks, the rest the same", () => {
    const body = renderProgressComment(liveRun());
    expect(body).toBe(
      LIVE.replace(
        "**Agents:** 1 pending, 2 running, 1 completed, 1 failed, 1 cancelled, 2 stalled",
        (line) => line.replace(", 2 stalled", ""),
      )
        .replace("\n**ETA:** ~23 minutes", "")
        .replace("⚠️ Stalled (18 minutes)", "🔄 In Progress")
        .replace("⚠️ Stalled (20 minutes)", "⏳ Pending"),
    );
  });

  it("an agent is stalled only after stallAfterMs of silence; a threshold of 0 turns it off", () => {
    const state = makeRun([makeAgent("backend", "in_progress", 3, 7, { updatedAt: at("16:40:00") })]);
    expect(renderProgressComment(state, { now: ms("16:55:00") })).toContain("| 🔄 In Progress |");
    expect(renderProgressComment(state, { now: ms("16:55:01") })).toContain("| ⚠️ Stalled (15 minutes) |");
    state.stallAfterMs = 0;
    expect(renderProgressComment(state, { now: ms("23:00:00") })).toContain("| 🔄 In Progress |");
  });

  it("a finalized run is seen as it was when it ended", () => {
    const state = { ...liveRun(), completedAt: at("16:55:00") };
    const later = renderProgressComment(state, { now: ms("23:00:00") });
    expect(later).toBe(renderProgressComment(state, { now: ms("16:55:00") }));
    expect(later).toContain("| ⚠️ Stalled (23 minutes) |");
    expect(later).not.toContain("**ETA:**");
  });

  it("the final comment lists every agent's duration after the merge summary", () => {
    const state = { ...liveRun(), completedAt: at("16:55:00"), mergeSummary: "Merged backend and tests." };
    const body = renderFinalComment(state, { now: ms("17:50:00") });
    expect(body).toContain(
      [
        "### Merge Results",
        "",
        "Merged backend and tests.",
        "",
        "### Agent Durations",
        "",
        "- backend (impl-bac-163000): 🔄 In Progress, unfinished after 24 minutes",
        "- docs (impl-doc-163000): ⏹️ Cancelled, did not start",
        "- frontend (impl-fro-163000): 🔄 In Progress, unfinished after 24 minutes",
        "- ops (impl-ops-163000): ⏳ Pending, did not start",
        "- qa (impl-qa-163000): ❌ Failed after 7 minutes",
        "- tests (impl-tes-163000): ✅ Completed in 13 minutes",
        "",
        "### Timeline",
        "",
        "```mermaid",
        "gantt",
        "    title Agents (UTC)",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        "    axisFormat %H:%M",
        "    section Agents",
        "    🔄 backend :active, 2025-10-19 16:30:10, 2025-10-19 16:55:00",
        "    ⏹️ docs :crit, milestone, 2025-10-19 16:35:00, 2025-10-19 16:35:00",
        "    🔄 frontend :active, 2025-10-19 16:30:30, 2025-10-19 16:55:00",
        "    ⏳ ops :milestone, 2025-10-19 16:55:00, 2025-10-19 16:55:00",
        "    ❌ qa :crit, 2025-10-19 16:31:00, 2025-10-19 16:38:00",
        "    ✅ tests :done, 2025-10-19 16:30:20, 2025-10-19 16:44:00",
        "```",
        "",
        "<!-- parallel-progress:final run=EPIC-007-20251019T163000Z-ab12 -->",
      ].join("\n"),
    );
    expect(body).toContain("\n\n<details><summary>Recent events</summary>\n\n");
    expect(body.indexOf("</details>")).toBeLessThan(body.indexOf("## 🎉 Final Summary"));
  });
});

describe("an agent running with every file it counts done", () => {
  it("shows 99%, as the Overall line does: 100% only once it is done", () => {
    const running = makeRun([
      makeAgent("backend", "in_progress", 5, 5),
      makeAgent("docs", "completed", 2, 2),
    ]);
    const body = renderProgressComment(running);
    expect(body).toContain("| backend | impl-bac-163000 | 🔄 In Progress | 5/5 | 99% |");
    expect(body).toContain("| docs | impl-doc-163000 | ✅ Completed | 2/2 | 100% |");
    expect(body).toContain("**Overall:** 99% (7/7 files)");
  });
});
