import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { halfEvenPercent } from "./progress.js";
import { childrenByParent, treeOrder } from "./tree.js";
import type { AgentMetrics, AgentState, AgentView, RunState } from "./types.js";

/**
 * Agent metrics (iterations, verified criteria, cost) and the cost budget. Pure.
 *
 * Budget: `init --max-cost` sets the run's budget. Each agent's share is split equally among siblings,
 * down the tree: a top-level agent gets the budget divided by the number of top-level agents, a child
 * its parent's share divided by the number of the parent's children. An agent's cost as shown is its
 * own reported cost plus its descendants' (so a parent's share covers its whole subtree); the run's cost
 * counts every agent's own cost once. An agent or the run is flagged once its cost is past 80% of its
 * budget (or share).
 */

const BUDGET_WARN_RATIO = 0.8;
/** Upper bound of a cost or a budget (US dollars), against typos and overflow. */
export const MAX_COST_USD = 1_000_000_000;

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/*
 * The checks of each metric, for the CLI's option parsers and the library alike: `label` names the input
 * (`--cost`, `costUsd`), `shown` the value as the message shows it (the CLI's text, quoted).
 */

/** A cost or budget in US dollars: a finite number from 0 to MAX_COST_USD. */
export function checkCost(value: unknown, label: string, shown = quote(value)): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_COST_USD) {
    throw new UsageError(
      `${label} must be a decimal number of US dollars from 0 to ${MAX_COST_USD}, e.g. 1.25, got ${shown}`,
    );
  }
  return value;
}

/** An iteration `i` of `max`: whole numbers, 0 ≤ i ≤ max, max ≥ 1. */
export function checkIteration(
  iteration: unknown,
  maxIterations: unknown,
  label: string,
  shown = `${quote(iteration)}/${quote(maxIterations)}`,
): { iteration: number; maxIterations: number } {
  if (!isCount(iteration) || !isCount(maxIterations) || maxIterations < 1 || iteration > maxIterations) {
    throw new UsageError(
      `${label} must be <i>/<max> with whole numbers, 0 ≤ i ≤ max and max ≥ 1, e.g. 3/10, got ${shown}`,
    );
  }
  return { iteration, maxIterations };
}

/** Verified criteria of a total: whole numbers, verified ≤ total. */
export function checkCriteria(
  criteriaVerified: unknown,
  criteriaTotal: unknown,
  label: string,
  shown = `${quote(criteriaVerified)}/${quote(criteriaTotal)}`,
): { criteriaVerified: number; criteriaTotal: number } {
  if (!isCount(criteriaVerified) || !isCount(criteriaTotal) || criteriaVerified > criteriaTotal) {
    throw new UsageError(
      `${label} must be <verified>/<total> with whole numbers and verified ≤ total, e.g. 4/6, got ${shown}`,
    );
  }
  return { criteriaVerified, criteriaTotal };
}

/**
 * The metrics as given, checked; throws a UsageError naming the first bad one and its value (after
 * `where`, when given: the library's method and parameter).
 */
export function checkMetrics(metrics: AgentMetrics, where?: string): AgentMetrics {
  const { iteration, maxIterations, criteriaVerified, criteriaTotal, costUsd } = metrics;
  const label = (name: string) => (where ? `${where}: ${name}` : name);
  if (iteration !== undefined || maxIterations !== undefined)
    checkIteration(iteration, maxIterations, label("iteration"));
  if (criteriaVerified !== undefined || criteriaTotal !== undefined)
    checkCriteria(criteriaVerified, criteriaTotal, label("criteria"));
  if (costUsd !== undefined) checkCost(costUsd, label("cost"));
  return metrics;
}

/** The agent with the metrics given applied (those not given stay as they are). */
export function withMetrics(agent: AgentState, metrics: AgentMetrics): AgentState {
  const next = { ...agent };
  if (metrics.iteration !== undefined && metrics.maxIterations !== undefined) {
    next.iteration = metrics.iteration;
    next.maxIterations = metrics.maxIterations;
  }
  if (metrics.criteriaVerified !== undefined && metrics.criteriaTotal !== undefined) {
    next.criteriaVerified = metrics.criteriaVerified;
    next.criteriaTotal = metrics.criteriaTotal;
  }
  if (metrics.costUsd !== undefined) next.costUsd = metrics.costUsd;
  return next;
}

/** Sums and shares of dollars kept to a millionth, so 0.1 + 0.2 shows and serialises as 0.3. */
export const roundUsd = (value: number) => Math.round(value * 1e6) / 1e6;

/** An agent's own cost as sums count it: to a millionth (less than half a millionth is 0), null if none. */
const ownCost = (agent: AgentState): number | null =>
  (agent.costUsd ?? null) === null ? null : roundUsd(agent.costUsd!);

export interface MetricsView {
  /** Which optional columns the table shows: those some agent has reported. */
  columns: { iteration: boolean; criteria: boolean; cost: boolean };
  /** Each agent's cost with its descendants'; null when none of them reported a cost. */
  totalCost: Map<string, number | null>;
  /** Each agent's share of the run's budget; empty without a budget. */
  budget: Map<string, number>;
  /** The run's cost (each agent's own cost once); null when no agent reported one. */
  runCost: number | null;
  runBudget: number | null;
}

/**
 * The metrics of `state`'s agents; `order`: the agents in treeOrder's order (a parent before its
 * children), as the caller has them already.
 */
export function metricsView(
  state: Pick<RunState, "agents" | "maxCostUsd">,
  order: readonly AgentState[] = treeOrder(Object.values(state.agents)).map((entry) => entry.agent),
): MetricsView {
  const agents = Object.values(state.agents);
  const columns = {
    iteration: agents.some((agent) => (agent.maxIterations ?? null) !== null),
    criteria: agents.some((agent) => (agent.criteriaTotal ?? null) !== null),
    cost: agents.some((agent) => (agent.costUsd ?? null) !== null),
  };
  const children = childrenByParent(agents);
  const totalCost = new Map<string, number | null>();
  for (let index = order.length - 1; index >= 0; index -= 1) {
    const agent = order[index]!;
    let sum = ownCost(agent);
    for (const child of children.get(agent.agentId) ?? []) {
      const cost = totalCost.get(child.agentId) ?? null;
      if (cost !== null) sum = (sum ?? 0) + cost;
    }
    totalCost.set(agent.agentId, sum === null ? null : roundUsd(sum));
  }

  const runBudget = state.maxCostUsd ?? null;
  const budget = new Map<string, number>();
  if (runBudget !== null) {
    const share = (list: readonly AgentState[], amount: number) => {
      for (const agent of list) budget.set(agent.agentId, amount / list.length);
    };
    share(children.get(null) ?? [], runBudget);
    // An agent only reachable through a cycle (never made by this tool) has no share to pass on.
    for (const agent of order) {
      const mine = budget.get(agent.agentId);
      if (mine !== undefined) share(children.get(agent.agentId) ?? [], mine);
    }
  }

  let runCost: number | null = null;
  for (const agent of agents) {
    const own = ownCost(agent);
    if (own !== null) runCost = (runCost ?? 0) + own;
  }
  return { columns, totalCost, budget, runCost: runCost === null ? null : roundUsd(runCost), runBudget };
}

/**
 * The share of its budget an agent has spent, or null without a cost or a budget. A budget of $0 (or a
 * share of it) with a cost past it is spent without end: Infinity, flagged as any overspend.
 */
export function budgetUsed(cost: number | null, budget: number | null | undefined): number | null {
  if (cost === null || budget === null || budget === undefined) return null;
  if (budget > 0) return cost / budget;
  return cost > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** Past 80% of its budget. */
export const overBudgetWarning = (used: number | null): boolean => used !== null && used > BUDGET_WARN_RATIO;

/**
 * `$1,234.50`: two decimals, fixed grouping, independent of the locale. Half a cent rounds up as the
 * amount was written (2.675 → $2.68): the amount is first read to a millionth, as costs are kept, since
 * `toFixed(2)` rounds the binary double (2.67499…) and would show $2.67.
 */
export function formatUsd(value: number): string {
  // Costs are finite and never negative (checkCost): anything else is shown as $0.00, never thrown.
  const amount = Number.isFinite(value) && value > 0 ? Math.min(value, 1e18) : 0;
  const millionths = BigInt(amount.toFixed(6).replace(".", ""));
  const cents = ((millionths + 5000n) / 10000n).toString().padStart(3, "0");
  const whole = cents.slice(0, -2);
  return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents.slice(-2)}`;
}

/**
 * The share of its `budget` (over 0) a flagged run's `cost` has used, in percent: rounded as progress is
 * (halfEvenPercent: 82.5% → 82, 84.5% → 84), exactly, on the amounts as they are kept (whole millionths),
 * but never 80 (it is past 80%), 100 only for the budget exactly, and past 100 once over it (as progress is
 * never 100% before done).
 */
function usedPercent(cost: number, budget: number): number {
  const spent = Math.round(cost * 1e6);
  const whole = Math.round(budget * 1e6);
  if (whole === 0) return spent === 0 ? 100 : 101; // a budget under half a millionth (a hand edit)
  const rounded = halfEvenPercent(spent, whole);
  if (spent < whole) return Math.min(99, Math.max(81, rounded));
  return spent === whole ? 100 : Math.max(101, rounded);
}

/** `$8.50`, or `$8.50 of $10.00 budget` with a budget. */
export function formatCostOfBudget(cost: number, budget: number | null): string {
  return budget === null ? formatUsd(cost) : `${formatUsd(cost)} of ${formatUsd(budget)} budget`;
}

/**
 * formatCostOfBudget, flagged `⚠️ 85% used` past 80% of the budget (`⚠️ over budget` past a budget of $0):
 * the Overall block's Cost.
 */
export function formatRunCost(view: MetricsView): string | null {
  if (view.runCost === null) return null;
  const cost = formatCostOfBudget(view.runCost, view.runBudget);
  const flag = budgetFlag(view.runCost, view.runBudget);
  return flag === null ? cost : `${cost} ⚠️ ${flag}`;
}

/**
 * What the run's cost is flagged with, on the issue, in the terminal and on the web page: `85% used` past
 * 80% of the budget, `over budget` past a budget of $0; null under 80%, or with no cost or budget.
 */
export function budgetFlag(cost: number | null, budget: number | null): string | null {
  const used = budgetUsed(cost, budget);
  if (cost === null || budget === null || !overBudgetWarning(used)) return null;
  return Number.isFinite(used) ? `${usedPercent(cost, budget)}% used` : "over budget";
}

/** Whether an agent (with its descendants) is past 80% of its share of the run's budget. */
export function agentOverBudget(view: MetricsView, agentId: string): boolean {
  return overBudgetWarning(budgetUsed(view.totalCost.get(agentId) ?? null, view.budget.get(agentId)));
}

/** The Cost cell of an agent: `$1.25`, with `⚠️` past 80% of its share; `—` without a cost. */
export function formatAgentCost(view: MetricsView, agentId: string): string {
  const cost = view.totalCost.get(agentId) ?? null;
  if (cost === null) return "—";
  return `${formatUsd(cost)}${agentOverBudget(view, agentId) ? " ⚠️" : ""}`;
}

/** `3/10`, or `—` when not reported. */
function formatPair(done: number | null | undefined, total: number | null | undefined): string {
  return done === null || done === undefined || total === null || total === undefined
    ? "—"
    : `${done}/${total}`;
}

/** The titles of the metric columns shown: those some agent reported, in this order. */
export function metricTitles(view: MetricsView): string[] {
  const titles: string[] = [];
  if (view.columns.iteration) titles.push("Iteration");
  if (view.columns.criteria) titles.push("Criteria");
  if (view.columns.cost) titles.push("Cost");
  return titles;
}

/** An agent's cells for the metric columns shown (see metricTitles). */
export function metricCells(agent: AgentView, view: MetricsView): string[] {
  const cells: string[] = [];
  if (view.columns.iteration) cells.push(formatPair(agent.iteration, agent.maxIterations));
  if (view.columns.criteria) cells.push(formatPair(agent.criteriaVerified, agent.criteriaTotal));
  if (view.columns.cost) cells.push(formatAgentCost(view, agent.agentId));
  return cells;
}
