import { describe, expect, it } from "vitest";
import {
  checkMetrics,
  formatAgentCost,
  formatRunCost,
  formatUsd,
  metricsView,
} from "../../src/model/metrics.js";
import { applyAdd, applyProgress, createRun } from "../../src/model/run.js";
import { toStatusView } from "../../src/model/status-view.js";
import type { RunState } from "../../src/model/types.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

const t0 = Date.parse("2025-10-19T16:30:00Z");

function budgeted(maxCostUsd?: number): RunState {
  const state = createRun({
    epicId: "EPIC-7",
    domains: ["backend", "frontend"],
    now: t0,
    github,
    nonce: "ab12",
    ...(maxCostUsd === undefined ? {} : { maxCostUsd }),
  });
  return applyAdd(state, ["api", "db"], "backend", t0).state;
}

const cost = (state: RunState, ref: string, costUsd: number) =>
  applyProgress(state, ref, { status: "in_progress", metrics: { costUsd } }, t0 + 1000);

describe("metric values", () => {
  it("accepts whole pairs within range and finite costs", () => {
    expect(
      checkMetrics({ iteration: 0, maxIterations: 1, criteriaVerified: 0, criteriaTotal: 0, costUsd: 0 }),
    ).toBeTruthy();
    expect(checkMetrics({ iteration: 3, maxIterations: 3, costUsd: 12.345 })).toBeTruthy();
  });

  it.each([
    [{ iteration: 5, maxIterations: 3 }, /iteration must be .* got 5\/3/],
    [{ iteration: 1, maxIterations: 0 }, /iteration must be/],
    [{ iteration: 1 }, /got 1\/nothing$/],
    [{ iteration: -0, maxIterations: 0 }, /got -0\/0$/],
    [{ iteration: 1.5, maxIterations: 3 }, /iteration must be/],
    [{ criteriaVerified: 4, criteriaTotal: 3 }, /criteria must be .* got 4\/3/],
    [{ criteriaVerified: -1, criteriaTotal: 3 }, /criteria must be/],
    [{ costUsd: -0.01 }, /cost must be .* got -0.01/],
    [{ costUsd: Number.NaN }, /got NaN/],
    [{ costUsd: Number.POSITIVE_INFINITY }, /got Infinity/],
    [{ costUsd: "3" as unknown as number }, /got "3"/],
  ])("rejects %o", (metrics, message) => {
    expect(() => checkMetrics(metrics)).toThrow(message);
  });

  it("leaves the state untouched when a metric is bad (the change throws before anything is made)", () => {
    const state = budgeted();
    const before = JSON.stringify(state);
    expect(() =>
      applyProgress(state, "db", { status: "in_progress", metrics: { costUsd: -1 } }, t0),
    ).toThrow();
    expect(JSON.stringify(state)).toBe(before);
  });
});

describe("cost and budget", () => {
  it("shows nothing until a cost is reported; then the run counts each agent's own cost once", () => {
    let state = budgeted(10);
    expect(formatRunCost(metricsView(state))).toBeNull();
    expect(metricsView(state).columns).toEqual({ iteration: false, criteria: false, cost: false });
    state = cost(state, "api", 1.1);
    state = cost(state, "db", 2.2);
    state = cost(state, "backend", 0.2);
    const view = metricsView(state);
    expect(view.columns.cost).toBe(true);
    expect(view.runCost).toBe(3.5);
    // backend's own 0.2 plus its children's.
    expect(view.totalCost.get("impl-bac-163000")).toBe(3.5);
    expect(view.totalCost.get("impl-fro-163000")).toBeNull();
    expect(formatRunCost(view)).toBe("$3.50 of $10.00 budget");
  });

  it("shows each share to a millionth, as sums are: a third of $0.30 is 0.1", () => {
    const state = createRun({
      epicId: "E",
      domains: ["a", "b", "c"],
      now: t0,
      github,
      nonce: "ab12",
      maxCostUsd: 0.3,
    });
    const view = toStatusView(state, t0);
    expect(view.agents.map((agent) => agent.budgetUsd)).toEqual([0.1, 0.1, 0.1]);
  });

  it("splits the budget equally among siblings down the tree and flags past 80% of a share", () => {
    let state = budgeted(10);
    const view0 = metricsView(state);
    expect(view0.budget.get("impl-bac-163000")).toBe(5);
    expect(view0.budget.get("impl-api-163000")).toBe(2.5);
    state = cost(state, "api", 2.0); // 80% of 2.5: not past it
    expect(formatAgentCost(metricsView(state), "impl-api-163000")).toBe("$2.00");
    state = cost(state, "api", 2.01);
    expect(formatAgentCost(metricsView(state), "impl-api-163000")).toBe("$2.01 ⚠️");
    // backend: 2.01 of 5: fine; the run: fine.
    expect(formatAgentCost(metricsView(state), "impl-bac-163000")).toBe("$2.01");
    state = cost(state, "frontend", 6.5);
    expect(formatRunCost(metricsView(state))).toBe("$8.51 of $10.00 budget ⚠️ 85% used");
    const json = toStatusView(state, t0 + 5000);
    expect(json.cost).toEqual({ costUsd: 8.51, maxCostUsd: 10, budgetWarning: true });
    expect(json.agents.find((a) => a.domain === "frontend")).toMatchObject({
      costUsd: 6.5,
      totalCostUsd: 6.5,
      budgetUsd: 5,
      budgetWarning: true,
    });
  });

  it("flags a cost past a budget of $0, the run's and each share of it", () => {
    let state = budgeted(0);
    state = cost(state, "frontend", 0);
    expect(formatRunCost(metricsView(state))).toBe("$0.00 of $0.00 budget");
    state = cost(state, "api", 5);
    expect(formatRunCost(metricsView(state))).toBe("$5.00 of $0.00 budget ⚠️ over budget");
    expect(formatAgentCost(metricsView(state), "impl-api-163000")).toBe("$5.00 ⚠️");
    expect(formatAgentCost(metricsView(state), "impl-fro-163000")).toBe("$0.00");
    const json = toStatusView(state, t0 + 5000);
    expect(json.cost).toEqual({ costUsd: 5, maxCostUsd: 0, budgetWarning: true });
    expect(json.agents.find((a) => a.domain === "backend")).toMatchObject({
      budgetUsd: 0,
      budgetWarning: true,
    });
  });

  it("counts a cost below half a millionth as 0 in the run's sum as in each agent's (no flag from dust)", () => {
    let state = budgeted(0);
    for (const ref of ["frontend", "api", "db"]) state = cost(state, ref, 0.0000004);
    const view = metricsView(state);
    expect(view.runCost).toBe(0);
    expect(formatRunCost(view)).toBe("$0.00 of $0.00 budget");
    expect(view.totalCost.get("impl-bac-163000")).toBe(0);
    expect(toStatusView(state, t0 + 5000).cost).toEqual({ costUsd: 0, maxCostUsd: 0, budgetWarning: false });
  });

  it("never shows the warning's share as 80% (not past it) or 100% (the budget exactly) when it is not", () => {
    const run = (runCost: number) => formatRunCost({ ...metricsView(budgeted(10)), runCost, runBudget: 10 });
    expect(run(8.04)).toBe("$8.04 of $10.00 budget ⚠️ 81% used");
    expect(run(9.96)).toBe("$9.96 of $10.00 budget ⚠️ 99% used");
    expect(run(10)).toBe("$10.00 of $10.00 budget ⚠️ 100% used");
    expect(run(10.04)).toBe("$10.04 of $10.00 budget ⚠️ 101% used");
    expect(run(12.5)).toBe("$12.50 of $10.00 budget ⚠️ 125% used");
    // Halves to even, as progress rounds (33/40 files → 82%, 169/200 → 84%).
    expect(run(8.25)).toBe("$8.25 of $10.00 budget ⚠️ 82% used");
    expect(run(8.45)).toBe("$8.45 of $10.00 budget ⚠️ 84% used");
    expect(run(8.35)).toBe("$8.35 of $10.00 budget ⚠️ 84% used");
  });

  it("rounds the share exactly for budgets past 90 million dollars (millionths past 2^53 / 100)", () => {
    const run = (runCost: number, runBudget: number) =>
      formatRunCost({ ...metricsView(budgeted(runBudget)), runCost, runBudget });
    // Exactly 87.5% and 82.5%: halves to even, 88 and 82 (in doubles they came out 87 and 83).
    expect(run(864197523.086415, 987654312.09876)).toMatch(/⚠️ 88% used$/);
    expect(run(814814807.481477, 987654312.09876)).toMatch(/⚠️ 82% used$/);
  });

  it("formats dollars with two decimals and fixed grouping", () => {
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(0.1 + 0.2)).toBe("$0.30");
    expect(formatUsd(1234567.891)).toBe("$1,234,567.89");
    // Half a cent rounds up as the number was written, not as its binary double falls (2.67499…).
    expect(formatUsd(2.675)).toBe("$2.68");
    expect(formatUsd(1.005)).toBe("$1.01");
    expect(formatUsd(0.004999)).toBe("$0.00");
    expect(formatUsd(1e-7)).toBe("$0.00");
    expect(formatUsd(999_999_999.995)).toBe("$1,000,000,000.00");
    expect(formatRunCost({ ...metricsView(budgeted()), runCost: 4 })).toBe("$4.00");
  });
});
