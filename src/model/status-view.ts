import { estimateRemainingMs } from "./eta.js";
import { agentOverBudget, budgetUsed, metricsView, overBudgetWarning, roundUsd } from "./metrics.js";
import {
  formatStatusCounts,
  overallProgress,
  statusCounts,
  toAgentView,
  withOpenDescendants,
} from "./progress.js";
import { agentFlags } from "./stalled.js";
import { treeOrder } from "./tree.js";
import type { AgentEvent, AgentView, RunState } from "./types.js";

/** What `status --json` prints and `reporter.status()` returns. */
export interface StatusView {
  epicId: string;
  runId: string;
  issueNumber: number | null;
  repo: string | null;
  startedAt: string;
  completedAt: string | null;
  event: string;
  agents: (AgentView & {
    summary: string | null;
    error: string | null;
    startedAt: string | null;
    updatedAt: string;
    finishedAt: string | null;
    events: AgentEvent[];
    /** Unfinished and silent for longer than the run's stall threshold. */
    stalled: boolean;
    silentForMs: number;
    /** 0 for a top-level agent, 1 for a child, ... (agents are listed in tree order: children after their parent). */
    depth: number;
    /** The agent's cost with its descendants' (what the table shows); null when none reported one. */
    totalCostUsd: number | null;
    /** The agent's share of the run's budget (split equally among siblings); null without a budget. */
    budgetUsd: number | null;
    /** Its total cost is past 80% of its share. */
    budgetWarning: boolean;
  })[];
  overall: { filesCompleted: number; filesTotal: number; progress: number };
  /** The run's cost against its budget. */
  cost: {
    /** Every agent's own cost once; null when no agent reported one. */
    costUsd: number | null;
    /** The run's budget (`init --max-cost`), or null. */
    maxCostUsd: number | null;
    /** The cost is past 80% of the budget. */
    budgetWarning: boolean;
  };
  counts: ReturnType<typeof statusCounts>;
  /** How many unfinished agents are stalled (also counted in their status). */
  stalled: number;
  countsText: string;
  /** Estimated milliseconds until the run is done, when there is enough data; else null. */
  etaMs: number | null;
  sync: {
    enabled: boolean;
    commentUrl: string | null;
    /** The run's latest change, and the latest one on the issue. */
    seq: number;
    postedSeq: number;
    finalPosted: boolean;
    /** Posts waiting in the offline queue. */
    queued: number;
    /** Unreadable queue files set aside (`*.corrupt`) by earlier commands: read them, then delete them. */
    setAside: number;
    /**
     * The CLI's `status` with a database store: the changes this machine keeps (made while the database did
     * not answer) that the run does not hold yet. Absent elsewhere.
     */
    kept?: number;
    lastError: string | null;
    /**
     * After a writer's lease was taken over: when (ISO) the progress comment is written once more, as that
     * writer's request may still land until then; null otherwise.
     */
    settleUntil: string | null;
  };
}

export function toStatusView(state: RunState, now: number, queued = 0, setAside = 0): StatusView {
  const entries = treeOrder(Object.values(state.agents));
  const agents = entries.map((entry) => entry.agent);
  const metrics = metricsView(state, agents);
  const counts = statusCounts(agents);
  const flags = new Map(agents.map((agent) => [agent.agentId, agentFlags(agent, state, now)]));
  const stalled = [...flags.values()].filter((flag) => flag.stalled).length;
  const open = withOpenDescendants(state.agents);
  return {
    epicId: state.epicId,
    runId: state.runId,
    issueNumber: state.github.issueNumber,
    repo: state.github.repo,
    startedAt: state.startedAt,
    completedAt: state.completedAt,
    event: state.event,
    agents: entries.map(({ agent, depth }) => ({
      ...toAgentView(agent, open.has(agent.agentId)),
      summary: agent.summary,
      error: agent.error,
      startedAt: agent.startedAt,
      updatedAt: agent.updatedAt,
      finishedAt: agent.finishedAt,
      events: agent.events,
      ...flags.get(agent.agentId)!,
      depth,
      totalCostUsd: metrics.totalCost.get(agent.agentId) ?? null,
      budgetUsd: budgetShown(metrics.budget.get(agent.agentId)),
      budgetWarning: agentOverBudget(metrics, agent.agentId),
    })),
    overall: overallProgress(agents),
    cost: {
      costUsd: metrics.runCost,
      maxCostUsd: metrics.runBudget,
      budgetWarning: overBudgetWarning(budgetUsed(metrics.runCost, metrics.runBudget)),
    },
    counts,
    stalled,
    countsText: formatStatusCounts(counts, stalled),
    etaMs: estimateRemainingMs(state, now),
    sync: {
      enabled: state.github.syncEnabled && state.github.issueNumber !== null && state.github.repo !== null,
      commentUrl: state.sync.commentUrl,
      seq: state.seq,
      postedSeq: state.sync.postedSeq,
      finalPosted: state.sync.finalCommentId !== null,
      queued,
      setAside,
      lastError: state.sync.lastError,
      settleUntil:
        state.sync.settleUntil > 0 && state.github.commentMode === "edit"
          ? new Date(state.sync.settleUntil).toISOString()
          : null,
    },
  };
}

/** An agent's share of the budget as shown: to a millionth, as sums are (a third of $0.30 is 0.1). */
const budgetShown = (share: number | undefined): number | null =>
  share === undefined ? null : roundUsd(share);
