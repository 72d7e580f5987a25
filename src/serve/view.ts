import { formatEta } from "../model/eta.js";
import { budgetFlag, formatCostOfBudget, formatUsd } from "../model/metrics.js";
import { toStatusView } from "../model/status-view.js";
import type { AgentView, RunState } from "../model/types.js";

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
  /** `costUsd` as the comment writes it (formatUsd), null without one: the page shows amounts as sent. */
  costText: string | null;
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
  /** The ETA as the comment and `status` write it (`~2 minutes`: formatEta), null without one. */
  etaText: string | null;
  /** The time the figures were computed (epoch ms). */
  at: number;
  /** The run past 80% of its budget. */
  overBudget: boolean;
  /** The cost and budget as the comment writes them (`$8.51 of $10.00 budget`), null without a cost. */
  costText: string | null;
  /** The comment's flag on the cost (`111% used`, `over budget`), null under 80% of the budget. */
  budgetFlag: string | null;
  /** Metric columns, shown once some agent reports them. */
  columns: { iteration: boolean; criteria: boolean; cost: boolean };
  issue: { repo: string | null; number: number | null; commentUrl: string | null };
}

export interface PageView {
  run: RunInfo;
  agents: AgentRow[];
}

export function toPageView(state: RunState, now: number): PageView {
  // `status --json`'s view: rows in tree order with depth, parent, metrics, subtree cost and budget flag.
  const status = toStatusView(state, now);
  const rows: AgentRow[] = status.agents.map((view) => ({
    agentId: view.agentId,
    domain: view.domain,
    status: view.status,
    filesCompleted: view.filesCompleted,
    filesTotal: view.filesTotal,
    progress: view.progress,
    // A parent that is not in the run (or a cycle) puts the row at the top: shown as having none.
    parentId: view.depth === 0 ? null : view.parentId,
    depth: view.depth,
    startedAt: view.startedAt,
    updatedAt: view.updatedAt,
    finishedAt: view.finishedAt,
    summary: view.summary,
    error: view.error,
    stalled: view.stalled,
    events: recentEvents(state, view.agentId),
    iteration: view.iteration,
    maxIterations: view.maxIterations,
    criteriaVerified: view.criteriaVerified,
    criteriaTotal: view.criteriaTotal,
    // A row shows its own cost plus its descendants'; the run's counts each agent's own once.
    costUsd: view.totalCostUsd,
    overBudget: view.budgetWarning,
    costText: view.totalCostUsd === null ? null : formatUsd(view.totalCostUsd),
  }));
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
      etaText: status.etaMs === null ? null : formatEta(status.etaMs),
      at: now,
      overBudget: status.cost.budgetWarning,
      costText:
        status.cost.costUsd === null ? null : formatCostOfBudget(status.cost.costUsd, status.cost.maxCostUsd),
      budgetFlag: budgetFlag(status.cost.costUsd, status.cost.maxCostUsd),
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

/**
 * The agent's latest events, newest last: its log already holds its descendants' (applyLog copies each
 * into every ancestor's, marked with the child's id), shown with the child's domain.
 */
function recentEvents(state: RunState, id: string): RecentEvent[] {
  // ISO times of one clock sort as text; stable, so the log's order holds for equal times.
  const byTime = [...state.agents[id]!.events].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return byTime.slice(-RECENT_EVENTS).map((event) => ({
    at: event.at,
    message: event.message.trim(), // as the comment, status and watch show it
    from: event.agentId === undefined ? null : (state.agents[event.agentId]?.domain ?? event.agentId),
  }));
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
