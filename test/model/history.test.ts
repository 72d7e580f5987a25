import { describe, expect, it } from "vitest";
import { toHistoryEntry } from "../../src/model/history.js";
import { formatDuration } from "../../src/model/progress.js";
import { renderFinalComment } from "../../src/render/progress-comment.js";
import { at, liveRun } from "../render/fixtures.js";

describe("history's agent durations", () => {
  it("are the final summary's: an agent unfinished at the end worked to the run's end, its status kept", () => {
    const state = { ...liveRun(), completedAt: at("16:55:00"), mergeSummary: "merged" };
    const entry = toHistoryEntry(state);
    expect(entry.agents.map((a) => [a.domain, a.status, a.durationMs])).toEqual([
      ["backend", "in_progress", 24 * 60_000 + 50_000], // 16:30:10 to the run's end
      ["docs", "cancelled", null], // did not start
      ["frontend", "in_progress", 24 * 60_000 + 30_000],
      ["ops", "pending", null],
      ["qa", "failed", 7 * 60_000],
      ["tests", "completed", 13 * 60_000 + 40_000],
    ]);
    // Each one as the final summary's agent durations say it.
    const body = renderFinalComment(state);
    const durations = body.slice(body.indexOf("### Agent Durations"), body.indexOf("### Timeline"));
    for (const agent of entry.agents) {
      const line = durations.split("\n").find((text) => text.startsWith(`- ${agent.domain} (`));
      if (agent.durationMs === null) expect(line).toMatch(/, did not start$/);
      else expect(line).toMatch(new RegExp(`(in|after) ${formatDuration(agent.durationMs)}$`));
    }
  });

  it("an abandoned run's unfinished agents worked to when it was abandoned", () => {
    const state = { ...liveRun(), completedAt: at("16:40:10"), abandonedAt: at("16:40:10") };
    const entry = toHistoryEntry(state);
    expect(entry.status).toBe("abandoned");
    expect(entry.agents.find((a) => a.domain === "backend")?.durationMs).toBe(10 * 60_000);
  });

  it("while the run is active, an unfinished agent has no duration yet; a finished one has its own", () => {
    const entry = toHistoryEntry(liveRun());
    expect(entry.durationMs).toBeNull();
    expect(entry.agents.map((a) => [a.domain, a.durationMs])).toEqual([
      ["backend", null],
      ["docs", null],
      ["frontend", null],
      ["ops", null],
      ["qa", 7 * 60_000],
      ["tests", 13 * 60_000 + 40_000],
    ]);
  });
});
