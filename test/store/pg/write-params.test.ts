import { describe, expect, it } from "vitest";
import { applyComplete, applyFinalize, applyLog, applyProgress, createRun } from "../../../src/model/run.js";
import type { RunState } from "../../../src/model/types.js";
import { writeParams } from "../../../src/store/pg/write-params.js";
import { GITHUB_TARGET as github } from "../../render/fixtures.js";

// The events row a change writes (pure): its line ($6) and the agent it was about ($10).

const at = Date.parse("2025-10-19T16:30:00Z");
const row = { id: "1", revision: "1", runVersion: "1" };
const run = () => createRun({ epicId: "E", domains: ["api", "web"], now: at, github, nonce: "ab12" });
const event = (before: RunState, next: RunState) => {
  const { values } = writeParams(row, before, next, {}, null);
  return { line: values[5], agent: values[9] };
};

describe("the events row of a change", () => {
  it("is a logged event's own line, and the run's line for any other change of an agent", () => {
    const started = applyProgress(run(), "api", { status: "in_progress" }, at + 1000);
    const logged = applyLog(started, "api", "compiled", at + 2000);
    expect(event(started, logged)).toEqual({
      line: "Agent impl-api-163000: compiled",
      agent: "impl-api-163000",
    });
    const again = applyProgress(logged, "api", { status: "in_progress" }, at + 3000);
    const twice = applyProgress(again, "api", { status: "in_progress" }, at + 4000);
    expect(event(again, twice)).toEqual({
      line: "Agent impl-api-163000 progress updated",
      agent: "impl-api-163000",
    });
  });

  it("says what a change applied to a finalized run did, not the run's last line again", () => {
    const finalized = applyFinalize(run(), "done", at + 5000);
    // A change made before the end, applied after it: the run keeps its last line.
    const late = {
      ...applyProgress(finalized, "web", { status: "in_progress" }, at + 4000),
      event: finalized.event,
    };
    expect(event(finalized, late)).toEqual({
      line: "Agent impl-web-163000 progress updated",
      agent: "impl-web-163000",
    });
    const done = { ...applyComplete(finalized, "web", null, at + 4500), event: finalized.event };
    expect(event(finalized, done).line).toBe("Agent impl-web-163000 completed");
  });
});
