import { describe, expect, it } from "vitest";
import { agentFlags, isStalled, silentForMs, stalledCount, viewTime } from "../../src/model/stalled.js";
import { AGENT_STATUSES } from "../../src/model/types.js";
import { at, makeAgent, makeRun, ms, STARTED } from "../render/fixtures.js";

const FIFTEEN_MINUTES = 15 * 60_000;

describe("silentForMs", () => {
  it("is the time since the last report, never counted from before the run's start", () => {
    const agent = makeAgent("backend", "in_progress", 1, 2, { updatedAt: at("16:40:00") });
    expect(silentForMs(agent, ms("16:45:30"))).toBe(330_000);
    expect(silentForMs(agent, ms("16:39:00"))).toBe(0);
    const early = makeAgent("ops", "pending", 0, 0, { updatedAt: "2025-10-19T10:00:00.000Z" });
    expect(silentForMs(early, ms("16:45:00"), STARTED)).toBe(15 * 60_000);
    const broken = makeAgent("ops", "pending", 0, 0, { updatedAt: "?" });
    expect(silentForMs(broken, ms("16:45:00"), STARTED)).toBe(15 * 60_000);
    expect(silentForMs(broken, ms("16:45:00"))).toBe(0);
  });
});

describe("isStalled", () => {
  it("only pending and running agents stall, after more than stallAfterMs of silence", () => {
    for (const status of AGENT_STATUSES) {
      const agent = makeAgent("backend", status, 1, 2, { updatedAt: at("16:40:00") });
      const open = status === "pending" || status === "in_progress";
      expect(isStalled(agent, FIFTEEN_MINUTES, ms("16:55:00"))).toBe(false);
      expect(isStalled(agent, FIFTEEN_MINUTES, ms("16:55:01"))).toBe(open);
    }
  });

  it("a pending agent that never reported counts from the run's start", () => {
    const agent = makeAgent("ops", "pending", 0, 0);
    expect(isStalled(agent, FIFTEEN_MINUTES, ms("16:45:01"), STARTED)).toBe(true);
    expect(isStalled(agent, FIFTEEN_MINUTES, ms("16:44:59"), STARTED)).toBe(false);
  });

  it("a threshold that is not a positive number turns detection off", () => {
    const agent = makeAgent("backend", "in_progress", 1, 2);
    for (const threshold of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(isStalled(agent, threshold, ms("23:00:00"))).toBe(false);
    }
  });
});

describe("agentFlags and stalledCount", () => {
  const state = makeRun([
    makeAgent("backend", "in_progress", 1, 2, { updatedAt: at("16:49:00") }),
    makeAgent("frontend", "in_progress", 1, 2, { updatedAt: at("16:31:00") }),
    makeAgent("ops", "pending", 0, 0),
    makeAgent("tests", "completed", 2, 2, { updatedAt: at("16:32:00") }),
  ]);

  it("use the run's threshold and start", () => {
    const now = ms("16:50:00");
    expect(agentFlags(state.agents["impl-bac-163000"]!, state, now)).toEqual({
      stalled: false,
      silentForMs: 60_000,
    });
    expect(agentFlags(state.agents["impl-fro-163000"]!, state, now)).toEqual({
      stalled: true,
      silentForMs: 19 * 60_000,
    });
    expect(agentFlags(state.agents["impl-tes-163000"]!, state, now)).toEqual({
      stalled: false,
      silentForMs: 18 * 60_000,
    });
    expect(stalledCount(state, now)).toBe(2);
    expect(stalledCount({ ...state, stallAfterMs: 60 * 60_000 }, now)).toBe(0);
  });

  it("see a finalized run as it was when it ended", () => {
    const ended = { ...state, completedAt: at("16:40:00") };
    expect(viewTime(ended, ms("23:00:00"))).toBe(ms("16:40:00"));
    expect(viewTime(state, ms("23:00:00"))).toBe(ms("23:00:00"));
    expect(agentFlags(ended.agents["impl-fro-163000"]!, ended, ms("23:00:00"))).toEqual({
      stalled: false,
      silentForMs: 9 * 60_000,
    });
  });
});
