import { describe, expect, it } from "vitest";
import { applyFail, applyLog, applyProgress, createRun } from "../../src/model/run.js";
import type { GitHubTarget, RunState } from "../../src/model/types.js";
import { extendHistory, MAX_POINTS, type Point, seedHistory, thin } from "../../src/serve/history.js";
import { diffRows, memoRows, RECENT_EVENTS, toPageView } from "../../src/serve/view.js";
import { GITHUB_TARGET } from "../render/fixtures.js";

const LOCAL: GitHubTarget = { ...GITHUB_TARGET, issueNumber: null, repo: null };
const T0 = Date.UTC(2025, 9, 19, 16, 30, 0);

function newRun(domains = ["backend", "frontend", "tests"]): RunState {
  return createRun({ epicId: "EPIC-7", domains, now: T0, github: LOCAL, nonce: "1a2b" });
}

function idOf(state: RunState, domain: string): string {
  return Object.values(state.agents).find((agent) => agent.domain === domain)!.agentId;
}

/** A run whose agents carry the optional fields of nested work and metrics. */
function nestedRun(): RunState {
  const state = newRun(["backend", "api", "db"]);
  const [backend, api, db] = ["backend", "api", "db"].map((domain) => idOf(state, domain));
  const agents = state.agents as Record<string, RunState["agents"][string] & Record<string, unknown>>;
  Object.assign(agents[backend!]!, { costUsd: 1.5, iteration: 2, maxIterations: 5 });
  Object.assign(agents[api!]!, { parentId: backend, costUsd: 0.25, criteriaVerified: 1, criteriaTotal: 3 });
  Object.assign(agents[db!]!, { parentId: api, costUsd: 0.5 });
  return { ...state, maxCostUsd: 2 } as RunState;
}

describe("serve: the page's view of a run (pure)", () => {
  it("has a row per agent sorted by domain, the status counts, the overall and no metric columns", () => {
    let state = newRun();
    state = applyProgress(
      state,
      "backend",
      { status: "in_progress", filesCompleted: 3, filesTotal: 7 },
      T0 + 1000,
    );
    state = applyFail(state, "tests", "<script>boom</script>", T0 + 2000);
    const view = toPageView(state, T0 + 3000);
    expect(view.agents.map((row) => [row.domain, row.status, row.depth])).toEqual([
      ["backend", "in_progress", 0],
      ["frontend", "pending", 0],
      ["tests", "failed", 0],
    ]);
    expect(view.agents[2]!.error).toBe("<script>boom</script>");
    expect(view.run.countsText).toBe("1 pending, 1 running, 0 completed, 1 failed");
    expect(view.run.overall).toEqual({ filesCompleted: 3, filesTotal: 7, progress: 43 });
    expect(view.run.columns).toEqual({ iteration: false, criteria: false, cost: false });
    expect(view.run.costText).toBeNull();
    expect(view.run.budgetFlag).toBeNull();
  });

  it("writes the ETA as the comment and status do (rounded to the nearest minute, not down)", () => {
    // 6 of 17 files in 60 s: 110 s left, ~2 minutes (the page rounded it down: ~1 minute).
    let state = newRun(["backend"]);
    state = applyProgress(
      state,
      "backend",
      { status: "in_progress", filesCompleted: 6, filesTotal: 17 },
      T0 + 1000,
    );
    const view = toPageView(state, T0 + 60_000);
    expect(view.run.etaMs).toBe(110_000);
    expect(view.run.etaText).toBe("~2 minutes");
    expect(toPageView(newRun(), T0 + 60_000).run.etaText).toBeNull();
  });

  it("puts children under their parent and shows the metrics and budget when a state carries them", () => {
    const view = toPageView(nestedRun(), T0);
    expect(view.agents.map((row) => [row.domain, row.depth])).toEqual([
      ["backend", 0],
      ["api", 1],
      ["db", 2],
    ]);
    expect(view.run.columns).toEqual({ iteration: true, criteria: true, cost: true });
    // Written as the comment writes amounts, so the page needs no copy of formatUsd: the run's is each
    // agent's own cost once, a row's its subtree's.
    expect(view.run.costText).toBe("$2.25 of $2.00 budget");
    // Flagged as the comment flags it (the page said "over 80% of the budget" whatever was spent).
    expect(view.run.budgetFlag).toBe("112% used");
    expect(view.agents.map((row) => row.costText)).toEqual(["$2.25", "$0.75", "$0.50"]);
    // Each agent's share of the $2 budget (split among siblings): only backend's subtree is past 80%.
    expect(view.agents.map((row) => row.overBudget)).toEqual([true, false, false]);
    expect(view.agents[1]).toMatchObject({
      criteriaVerified: 1,
      criteriaTotal: 3,
      parentId: view.agents[0]!.agentId,
    });
  });

  it("shows an agent whose parent is unknown, or in a cycle, at the top level rather than losing it", () => {
    const state = newRun(["a", "b"]);
    const [a, b] = ["a", "b"].map((domain) => idOf(state, domain));
    Object.assign(state.agents[a!]!, { parentId: b });
    Object.assign(state.agents[b!]!, { parentId: a });
    expect(
      toPageView(state, T0)
        .agents.map((row) => row.domain)
        .sort(),
    ).toEqual(["a", "b"]);
    Object.assign(state.agents[a!]!, { parentId: "nobody" });
    expect(toPageView(state, T0).agents[0]).toMatchObject({ domain: "a", depth: 0, parentId: null });
  });

  it("keeps the latest events, a child's included in its parent's, newest last", () => {
    let state = nestedRun();
    for (let i = 0; i < 7; i++) state = applyLog(state, "backend", `own ${i}`, T0 + i * 1000);
    state = applyLog(state, "db", "\n  from the child \n", T0 + 5500);
    const [backend, , db] = toPageView(state, T0 + 9000).agents;
    expect(backend!.events).toHaveLength(RECENT_EVENTS);
    expect(backend!.events.at(-2)).toMatchObject({ message: "from the child", from: "db" });
    expect(backend!.events.at(-1)).toMatchObject({ message: "own 6", from: null });
    // Shown trimmed, as the comment, status and watch show it.
    expect(db!.events).toEqual([
      { at: new Date(T0 + 5500).toISOString(), message: "from the child", from: null },
    ]);
  });

  it("tells which rows changed, which went, and the new order only when it moved", () => {
    const state = newRun();
    const before = memoRows(toPageView(state, T0).agents);
    const next = applyProgress(
      state,
      "frontend",
      { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
      T0 + 5,
    );
    const { changes, memo } = diffRows(before, toPageView(next, T0 + 5).agents);
    expect(changes.changed.map((row) => row.domain)).toEqual(["frontend"]);
    expect(changes.removed).toEqual([]);
    expect(changes.order).toBeNull();
    const gone = new Map([...memo].filter(([id]) => !id.startsWith("impl-tes")));
    const again = diffRows(gone, toPageView(next, T0 + 5).agents).changes;
    expect(again.changed.map((row) => row.domain)).toEqual(["tests"]);
    expect(again.order).toHaveLength(3);
    expect(diffRows(memo, []).changes).toMatchObject({ removed: [...memo.keys()], order: [] });
  });
});

describe("serve: the burn-up history (pure)", () => {
  it("starts from the run's start and each agent's last report, then adds a point per change", () => {
    let state = newRun();
    state = applyProgress(
      state,
      "backend",
      { status: "in_progress", filesCompleted: 2, filesTotal: 4 },
      T0 + 10_000,
    );
    state = applyProgress(
      state,
      "tests",
      { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
      T0 + 5_000,
    );
    const history = seedHistory(toPageView(state, T0 + 20_000));
    const backend = idOf(state, "backend");
    expect(history.agents[backend]).toEqual([
      [T0, 0, 4],
      [T0 + 10_000, 2, 4],
    ]);
    expect(history.overall).toEqual([
      [T0, 0, 6],
      [T0 + 5_000, 1, 6],
      [T0 + 10_000, 3, 6],
    ]);

    state = applyProgress(
      state,
      "backend",
      { status: "in_progress", filesCompleted: 4, filesTotal: 4 },
      T0 + 30_000,
    );
    const added = extendHistory(history, toPageView(state, T0 + 30_000));
    expect(added).toEqual({ overall: [[T0 + 30_000, 5, 6]], agents: { [backend]: [[T0 + 30_000, 4, 4]] } });
    expect(history.overall.at(-1)).toEqual([T0 + 30_000, 5, 6]);
    // A change that moves no count (a log) adds nothing.
    state = applyLog(state, "backend", "note", T0 + 40_000);
    expect(extendHistory(history, toPageView(state, T0 + 40_000))).toEqual({ overall: [], agents: {} });
  });

  it("halves a series past its bound, keeping the first and last points", () => {
    const points: Point[] = Array.from({ length: MAX_POINTS + 1 }, (_, i) => [i, i, MAX_POINTS]);
    const thinned = thin(points);
    expect(thinned.length).toBeLessThanOrEqual(MAX_POINTS / 2 + 2);
    expect(thinned[0]).toEqual([0, 0, MAX_POINTS]);
    expect(thinned.at(-1)).toEqual(points.at(-1));
    expect(thin(points.slice(0, 10))).toHaveLength(10);
  });
});
