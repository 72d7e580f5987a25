import { describe, expect, it } from "vitest";
import { EMPTY_SYNC } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { withTimesHeld } from "../../src/store/held-times.js";
import { makeRun } from "../render/fixtures.js";

describe("withTimesHeld", () => {
  it("gives a run without sync bookkeeping (SQL may leave a database's so) a new run's, not a crash later", () => {
    const now = Date.parse("2025-10-19T16:40:00Z");
    for (const sync of [null, "x", 5]) {
      const state = { ...makeRun([]), sync } as unknown as RunState;
      expect(withTimesHeld(state, now).sync).toEqual(EMPTY_SYNC);
    }
    const fine = makeRun([]);
    expect(withTimesHeld(fine, now)).toBe(fine);
  });
});
