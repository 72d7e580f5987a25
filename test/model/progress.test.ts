import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  agentProgress,
  formatDuration,
  formatStatusCounts,
  overallProgress,
  percent,
  sortByDomain,
  statusCounts,
  toAgentView,
} from "../../src/model/progress.js";
import type { AgentState, AgentStatus } from "../../src/model/types.js";

function agent(
  domain: string,
  status: AgentStatus,
  done: number,
  total: number,
  agentId = `id-${domain}`,
): AgentState {
  return {
    agentId,
    domain,
    status,
    filesCompleted: done,
    filesTotal: total,
    startedAt: null,
    updatedAt: "2025-10-19T16:30:00.000Z",
    finishedAt: null,
    summary: null,
    error: null,
    events: [],
  };
}

describe("percent", () => {
  it.each([
    [3, 7, 43],
    [3, 16, 19],
    [10, 16, 62],
    [3, 5, 60],
    [1, 8, 12], // 12.5 → 12 (half to even)
    [3, 8, 38], // 37.5 → 38
    [1, 40, 2], // 2.5 → 2
    [3, 40, 8], // 7.5 → 8
    [1, 3, 33],
    [2, 3, 67],
    [199, 200, 99], // 99.5 would round to 100: clamped
    [999, 1000, 99],
    [1, 1000, 1], // 0.1 would round to 0: clamped
    [1, 201, 1],
    [7, 7, 100],
    [0, 7, 0],
    [0, 0, 0],
    [5, 0, 0],
    [8, 7, 100],
    [-1, 7, 0],
    [Number.NaN, 7, 0],
    [1, Number.POSITIVE_INFINITY, 0],
  ])("%d/%d → %d", (done, total, expected) => {
    expect(percent(done, total)).toBe(expected);
  });

  it("matches round-half-even of the exact rational, 100 and 0 kept for all and nothing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (total, raw) => {
          const done = raw % (total + 1);
          const result = percent(done, total);
          const twice = BigInt(done) * 200n;
          const t = BigInt(total);
          const floor = (BigInt(done) * 100n) / t;
          const remainderTwice = twice - floor * 2n * t;
          const exact =
            remainderTwice > t || (remainderTwice === t && floor % 2n === 1n) ? floor + 1n : floor;
          const expected = done === total ? 100 : done === 0 ? 0 : Math.min(99, Math.max(1, Number(exact)));
          expect(result).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("agent and overall progress", () => {
  it("counts a completed agent without files as done", () => {
    expect(agentProgress(agent("a", "completed", 0, 0), false)).toBe(100);
    expect(agentProgress(agent("a", "in_progress", 0, 0), false)).toBe(0);
    expect(agentProgress(agent("a", "failed", 2, 4), false)).toBe(50);
    expect(toAgentView(agent("a", "in_progress", 3, 7), false)).toEqual({
      agentId: "id-a",
      domain: "a",
      status: "in_progress",
      filesCompleted: 3,
      filesTotal: 7,
      progress: 43,
      parentId: null,
      iteration: null,
      maxIterations: null,
      criteriaVerified: null,
      criteriaTotal: null,
      costUsd: null,
    });
  });

  it("100 for an agent only when it is done: pending or running with every file done is 99", () => {
    expect(agentProgress(agent("a", "in_progress", 5, 5), false)).toBe(99);
    expect(agentProgress(agent("a", "pending", 4, 4), false)).toBe(99);
    expect(agentProgress(agent("a", "completed", 5, 5), false)).toBe(100);
    // A failed or cancelled agent has finished, as for the overall: its counted files decide.
    expect(agentProgress(agent("a", "failed", 5, 5), false)).toBe(100);
    expect(agentProgress(agent("a", "cancelled", 5, 5), false)).toBe(100);
    expect(toAgentView(agent("a", "in_progress", 5, 5), false).progress).toBe(99);
  });

  it("sums files over agents", () => {
    const agents = [
      agent("a", "in_progress", 3, 7),
      agent("b", "pending", 0, 5),
      agent("c", "pending", 0, 4),
    ];
    expect(overallProgress(agents)).toEqual({ filesCompleted: 3, filesTotal: 16, progress: 19 });
  });

  it("without files: 100 only when every agent completed", () => {
    expect(overallProgress([])).toEqual({ filesCompleted: 0, filesTotal: 0, progress: 0 });
    expect(overallProgress([agent("a", "completed", 0, 0)]).progress).toBe(100);
    expect(overallProgress([agent("a", "completed", 0, 0), agent("b", "failed", 0, 0)]).progress).toBe(0);
  });

  it("100 only when nothing is still to come: an agent pending or running keeps it at 99", () => {
    const counted = agent("a", "completed", 1, 1);
    expect(overallProgress([counted, agent("b", "pending", 0, 0)])).toEqual({
      filesCompleted: 1,
      filesTotal: 1,
      progress: 99,
    });
    expect(overallProgress([counted, agent("b", "in_progress", 2, 2)]).progress).toBe(99);
    expect(overallProgress([counted, agent("b", "completed", 2, 2)]).progress).toBe(100);
    // A failed or cancelled agent has finished: its counted files decide.
    expect(overallProgress([counted, agent("b", "failed", 0, 0)]).progress).toBe(100);
  });
});

describe("status counts", () => {
  const agents = [
    agent("a", "pending", 0, 0),
    agent("b", "in_progress", 0, 0),
    agent("c", "in_progress", 0, 0),
    agent("d", "completed", 0, 0),
    agent("e", "failed", 0, 0),
  ];

  it("counts every status", () => {
    expect(statusCounts(agents)).toEqual({
      pending: 1,
      in_progress: 2,
      completed: 1,
      failed: 1,
      cancelled: 0,
    });
  });

  it("mentions cancelled only when there are some", () => {
    expect(formatStatusCounts(statusCounts(agents))).toBe("1 pending, 2 running, 1 completed, 1 failed");
    expect(formatStatusCounts(statusCounts([...agents, agent("f", "cancelled", 0, 0)]))).toBe(
      "1 pending, 2 running, 1 completed, 1 failed, 1 cancelled",
    );
  });

  it("mentions stalled agents last, only when there are some", () => {
    expect(formatStatusCounts(statusCounts(agents), 0)).toBe("1 pending, 2 running, 1 completed, 1 failed");
    expect(formatStatusCounts(statusCounts(agents), 2)).toBe(
      "1 pending, 2 running, 1 completed, 1 failed, 2 stalled",
    );
    expect(formatStatusCounts(statusCounts([...agents, agent("f", "cancelled", 0, 0)]), 1)).toBe(
      "1 pending, 2 running, 1 completed, 1 failed, 1 cancelled, 1 stalled",
    );
  });
});

describe("sortByDomain", () => {
  it("orders by code units, then agent id, without touching the input", () => {
    const input = [
      agent("tests", "pending", 0, 0),
      agent("b", "pending", 0, 0, "z"),
      agent("Zeta", "pending", 0, 0),
      agent("b", "pending", 0, 0, "a"),
      agent("ébauche", "pending", 0, 0),
      agent("backend", "pending", 0, 0),
    ];
    const sorted = sortByDomain(input);
    expect(sorted.map((a) => `${a.domain}/${a.agentId}`)).toEqual([
      "Zeta/id-Zeta",
      "b/a",
      "b/z",
      "backend/id-backend",
      "tests/id-tests",
      "ébauche/id-ébauche",
    ]);
    expect(input[0]!.domain).toBe("tests");
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0 seconds"],
    [999, "0 seconds"],
    [1000, "1 second"],
    [45_000, "45 seconds"],
    [60_000, "1 minute"],
    [12 * 60_000 + 37_000, "12 minutes"],
    [59 * 60_000 + 59_999, "59 minutes"],
    [3_600_000, "1 hour"],
    [65 * 60_000 + 30_000, "1 hour 5 minutes"],
    [61 * 60_000, "1 hour 1 minute"],
    [2 * 3_600_000, "2 hours"],
    [26 * 3_600_000 + 120_000, "26 hours 2 minutes"],
    [-5000, "0 seconds"],
    [Number.NaN, "0 seconds"],
  ])("%d ms → %s", (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});
