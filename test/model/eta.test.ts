import { describe, expect, it } from "vitest";
import { ETA_MIN_ELAPSED_MS, estimateRemainingMs, formatEta } from "../../src/model/eta.js";
import { at, makeAgent, makeRun, ms } from "../render/fixtures.js";

describe("estimateRemainingMs", () => {
  const running = () =>
    makeRun([
      makeAgent("backend", "in_progress", 3, 7),
      makeAgent("frontend", "in_progress", 1, 5),
      makeAgent("tests", "completed", 4, 4),
      makeAgent("qa", "failed", 2, 9),
    ]);

  it("applies the run's throughput so far to the files the unfinished agents have left", () => {
    // 10 files in 10 minutes; 4 + 4 left (the failed agent's files are not waited for): 8 minutes.
    expect(estimateRemainingMs(running(), ms("16:40:00"))).toBe(8 * 60_000);
    // Twice as long for the same work: twice the estimate.
    expect(estimateRemainingMs(running(), ms("16:50:00"))).toBe(16 * 60_000);
  });

  it("needs 3 files done, 10 seconds elapsed, an unfinalized run and files remaining", () => {
    const few = makeRun([makeAgent("backend", "in_progress", 2, 7)]);
    expect(estimateRemainingMs(few, ms("16:40:00"))).toBeNull();
    few.agents["impl-bac-163000"]!.filesCompleted = 3;
    expect(estimateRemainingMs(few, ms("16:40:00"))).toBe(Math.round((4 * 600_000) / 3));
    expect(estimateRemainingMs(few, ms("16:30:00") + ETA_MIN_ELAPSED_MS - 1)).toBeNull();
    expect(estimateRemainingMs(few, ms("16:30:00") + ETA_MIN_ELAPSED_MS)).toBe(Math.round((4 * 10_000) / 3));
    expect(estimateRemainingMs({ ...few, completedAt: at("16:41:00") }, ms("16:40:00"))).toBeNull();
    const done = makeRun([makeAgent("backend", "in_progress", 7, 7), makeAgent("qa", "failed", 1, 9)]);
    expect(estimateRemainingMs(done, ms("16:40:00"))).toBeNull();
  });

  it("gives none while an unfinished agent has not said how many files it has", () => {
    const state = running();
    state.agents["impl-ops-163000"] = makeAgent("ops", "pending", 0, 0);
    expect(estimateRemainingMs(state, ms("16:40:00"))).toBeNull();
  });

  it("gives none for a start time that does not parse or a clock before it", () => {
    expect(estimateRemainingMs({ ...running(), startedAt: "soon" }, ms("16:40:00"))).toBeNull();
    expect(estimateRemainingMs(running(), ms("16:00:00"))).toBeNull();
  });
});

describe("formatEta", () => {
  it.each([
    [4 * 60_000 + 29_999, "~4 minutes"],
    [4 * 60_000 + 30_000, "~5 minutes"],
    [110_400, "~2 minutes"],
    [45_000, "~45 seconds"],
    [45_600, "~46 seconds"],
    [59_499, "~59 seconds"],
    [59_500, "~1 minute"],
    [10, "~1 second"],
    [3_900_000, "~1 hour 5 minutes"],
    [3_929_999, "~1 hour 5 minutes"],
    [3_930_000, "~1 hour 6 minutes"],
    [3_570_000, "~1 hour"],
  ])("%d ms → %s", (value, expected) => {
    expect(formatEta(value)).toBe(expected);
  });
});

describe("estimateRemainingMs from earlier runs", () => {
  const withPast = (past: Record<string, number> | undefined) => {
    const run = makeRun([
      makeAgent("backend", "in_progress", 0, 0, { startedAt: at("16:30:00") }),
      makeAgent("frontend", "pending", 0, 0),
      makeAgent("docs", "completed", 1, 1),
    ]);
    run.pastDurations = past;
    return run;
  };

  it("falls back on the same domains' durations when the run has too little data of its own", () => {
    const now = ms("16:32:00");
    // backend usually takes 10 min and has run 2: 8 left; frontend (not started) 5 min: the longest is 8.
    expect(estimateRemainingMs(withPast({ backend: 600_000, frontend: 300_000 }), now)).toBe(8 * 60_000);
    // The frontend is the longest when it usually takes 9 minutes from now.
    expect(estimateRemainingMs(withPast({ backend: 600_000, frontend: 540_000 }), now)).toBe(9 * 60_000);
  });

  it("gives no estimate without history for every unfinished domain, or once they all overran it", () => {
    expect(estimateRemainingMs(withPast(undefined), ms("16:32:00"))).toBeNull();
    expect(estimateRemainingMs(withPast({ backend: 600_000 }), ms("16:32:00"))).toBeNull();
    const overran = withPast({ backend: 60_000, frontend: 60_000 });
    overran.agents["impl-fro-163000"]!.status = "cancelled";
    expect(estimateRemainingMs(overran, ms("16:32:00"))).toBeNull();
  });

  it("prefers the run's own throughput once it has enough data", () => {
    const run = withPast({ backend: 3_600_000, frontend: 3_600_000 });
    run.agents["impl-bac-163000"]!.filesCompleted = 3;
    run.agents["impl-bac-163000"]!.filesTotal = 6;
    run.agents["impl-fro-163000"]!.filesTotal = 3;
    // 4 files done (3 + docs' 1) in 10 min; 6 left: 15 minutes, not an hour.
    expect(estimateRemainingMs(run, ms("16:40:00"))).toBe(15 * 60_000);
  });
});
