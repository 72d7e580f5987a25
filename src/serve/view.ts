import { agentOverBudget, metricsView } from "../model/metrics.js";
import { toStatusView } from "../model/status-view.js";
import type { AgentState, AgentView, RunState } from "../model/types.js";

/**
 * What the web view shows, computed from the run state: one row per agent in display order (children
 * under their parent) and the run's figures. Pure; the time is passed in as epoch ms.
 *
 * The optional fields of nested work and agent metrics (parentId, iteration, criteria, cost, the run's
 * budget) are read when a state carries them, so the view works with and without them.
 */

/** Events shown per agent (its own and its children's, newest last). */
export const RECENT_EVENTS = 3;

export interface RecentEvent {
  at: string;
  message: string;
  /** The child agent's domain when the event is a child's; null for the agent's own. */
  from: string | null;
}

/** A row of the page's table: the agent as `status --json` shows it (AgentView), and what the page adds. */
export interface AgentRow extends AgentView {
  /** 0 for a top-level agent, 1 for its children, and so on. */
  depth: number;
  startedAt: string | null;
  updatedAt: string;
  finishedAt: string | null;
  summary: string | null;
  error: string | null;
  stalled: boolean;
  events: RecentEvent[];
  /** Past 80% of its share of the run's budget (the comment's rule: `agentOverBudget`). */
  overBudget: boolean;
}

export interface RunInfo {
  runId: string;
  epicId: string;
  startedAt: string;
  completedAt: string | null;
  event: string;
  seq: number;
  countsText: string;
  overall: { filesCompleted: number; filesTotal: number; progress: number };
  /** Estimated milliseconds to completion at `at`, or null without enough data. */
  etaMs: number | null;
  /** The time the figures were computed (epoch ms). */
  at: number;
  costUsd: number | null;
  maxCostUsd: number | null;
  /** Metric columns, shown once some agent reports them. */
  columns: { iteration: boolean; criteria: boolean; cost: boolean };
  issue: { repo: string | null; number: number | null; commentUrl: string | null };
}

export interface PageView {
  run: RunInfo;
  agents: AgentRow[];
}

/** The optional fields other work adds to an agent and a run; absent in older states. */
type AgentExtras = Partial<{
  parentId: string | null;
  iteration: number | null;
  maxIterations: number | null;
  criteriaVerified: number | null;
  criteriaTotal: number | null;
  costUsd: number | null;
}>;

const numberOrNull = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;

export function toPageView(state: RunState, now: number): PageView {
  const status = toStatusView(state, now);
  const extras = (agent: AgentState) => agent as AgentState & AgentExtras;
  // A parent that is not in the run (or a cycle) would hide a row: such an agent is shown at the top.
  const parentOf = (agent: AgentState): string | null => {
    const parentId = extras(agent).parentId;
    return typeof parentId === "string" && parentId !== agent.agentId && state.agents[parentId]
      ? parentId
      : null;
  };
  const children = new Map<string | null, string[]>();
  for (const view of status.agents) {
    const parent = parentOf(state.agents[view.agentId]!);
    const list = children.get(parent) ?? [];
    list.push(view.agentId);
    children.set(parent, list);
  }

  const rows: AgentRow[] = [];
  const placed = new Set<string>();
  const byId = new Map(status.agents.map((view) => [view.agentId, view]));
  const place = (id: string, depth: number) => {
    if (placed.has(id)) return;
    placed.add(id);
    const view = byId.get(id)!;
    const agent = extras(state.agents[id]!);
    rows.push({
      agentId: view.agentId,
      domain: view.domain,
      status: view.status,
      filesCompleted: view.filesCompleted,
      filesTotal: view.filesTotal,
      progress: view.progress,
      parentId: parentOf(state.agents[id]!),
      depth,
      startedAt: view.startedAt,
      updatedAt: view.updatedAt,
      finishedAt: view.finishedAt,
      summary: view.summary,
      error: view.error,
      stalled: view.stalled,
      events: recentEvents(state, id, children),
      iteration: numberOrNull(agent.iteration),
      maxIterations: numberOrNull(agent.maxIterations),
      criteriaVerified: numberOrNull(agent.criteriaVerified),
      criteriaTotal: numberOrNull(agent.criteriaTotal),
      costUsd: numberOrNull(agent.costUsd),
      overBudget: false,
    });
    for (const child of children.get(id) ?? []) place(child, depth + 1);
  };
  for (const id of children.get(null) ?? []) place(id, 0);
  for (const view of status.agents) place(view.agentId, 0); // agents caught in a parent cycle

  // Each agent reports its own cost: the run's counts each once; a row shows its own plus its descendants'.
  const own = new Map(rows.map((row) => [row.agentId, row.costUsd]));
  const costs = [...own.values()].filter((cost): cost is number => cost !== null);
  for (const row of rows) row.costUsd = subtreeCost(row.agentId, own, children);
  const metrics = metricsView(state);
  for (const row of rows) row.overBudget = agentOverBudget(metrics, row.agentId);
  return {
    run: {
      runId: state.runId,
      epicId: state.epicId,
      startedAt: state.startedAt,
      completedAt: state.completedAt,
      event: state.event,
      seq: state.seq,
      countsText: status.countsText,
      overall: status.overall,
      etaMs: status.etaMs,
      at: now,
      costUsd: costs.length > 0 ? costs.reduce((sum, cost) => sum + cost, 0) : null,
      maxCostUsd: numberOrNull((state as RunState & { maxCostUsd?: unknown }).maxCostUsd),
      columns: {
        iteration: rows.some((row) => row.iteration !== null),
        criteria: rows.some((row) => row.criteriaVerified !== null),
        cost: rows.some((row) => row.costUsd !== null),
      },
      issue: {
        repo: state.github.repo,
        number: state.github.issueNumber,
        commentUrl: state.sync.commentUrl,
      },
    },
    agents: rows,
  };
}

/** The agent's own cost plus its descendants', or null when none of them reported one. */
function subtreeCost(
  id: string,
  own: Map<string, number | null>,
  children: Map<string | null, string[]>,
  seen = new Set<string>(),
): number | null {
  if (seen.has(id)) return null;
  seen.add(id);
  let total = own.get(id) ?? null;
  for (const child of children.get(id) ?? []) {
    const cost = subtreeCost(child, own, children, seen);
    if (cost !== null) total = (total ?? 0) + cost;
  }
  return total;
}

/** The agent's latest events with those of its descendants, newest last. */
function recentEvents(state: RunState, id: string, children: Map<string | null, string[]>): RecentEvent[] {
  const events: RecentEvent[] = [];
  const visit = (agentId: string, from: string | null, seen: Set<string>) => {
    if (seen.has(agentId)) return;
    seen.add(agentId);
    const agent = state.agents[agentId]!;
    for (const event of agent.events.slice(-RECENT_EVENTS)) events.push({ ...event, from });
    for (const child of children.get(agentId) ?? []) visit(child, state.agents[child]!.domain, seen);
  };
  visit(id, null, new Set());
  // ISO times of one clock sort as text; stable, so an agent's own order holds for equal times.
  return events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).slice(-RECENT_EVENTS);
}

/** What changed between two views: rows to replace or add, ids gone, and the new order if it moved. */
export interface RowChanges {
  changed: AgentRow[];
  removed: string[];
  /** The agents' ids in display order, when it differs from the previous view's; else null. */
  order: string[] | null;
}

/** Each row's JSON, kept to tell which rows changed (cheaper than a deep comparison per change). */
export type RowMemo = Map<string, string>;

export function memoRows(rows: readonly AgentRow[]): RowMemo {
  return new Map(rows.map((row) => [row.agentId, JSON.stringify(row)]));
}

export function diffRows(
  previous: RowMemo,
  rows: readonly AgentRow[],
): { changes: RowChanges; memo: RowMemo } {
  const memo = memoRows(rows);
  const changed = rows.filter((row) => previous.get(row.agentId) !== memo.get(row.agentId));
  const removed = [...previous.keys()].filter((id) => !memo.has(id));
  const before = [...previous.keys()];
  const after = [...memo.keys()];
  const moved = before.length !== after.length || before.some((id, index) => after[index] !== id);
  return { changes: { changed, removed, order: moved ? after : null }, memo };
}
