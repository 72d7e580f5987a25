import { formatStatusCounts, overallProgress, sortByDomain, statusCounts, toAgentView } from "./progress.js";
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
  })[];
  overall: { filesCompleted: number; filesTotal: number; progress: number };
  counts: ReturnType<typeof statusCounts>;
  countsText: string;
  sync: {
    enabled: boolean;
    commentUrl: string | null;
    /** The run's latest change, and the latest one on the issue. */
    seq: number;
    postedSeq: number;
    finalPosted: boolean;
    lastError: string | null;
  };
}

export function toStatusView(state: RunState): StatusView {
  const agents = sortByDomain(Object.values(state.agents));
  const counts = statusCounts(agents);
  return {
    epicId: state.epicId,
    runId: state.runId,
    issueNumber: state.github.issueNumber,
    repo: state.github.repo,
    startedAt: state.startedAt,
    completedAt: state.completedAt,
    event: state.event,
    agents: agents.map((agent) => ({
      ...toAgentView(agent),
      summary: agent.summary,
      error: agent.error,
      startedAt: agent.startedAt,
      updatedAt: agent.updatedAt,
      finishedAt: agent.finishedAt,
      events: agent.events,
    })),
    overall: overallProgress(agents),
    counts,
    countsText: formatStatusCounts(counts),
    sync: {
      enabled: state.github.syncEnabled && state.github.issueNumber !== null && state.github.repo !== null,
      commentUrl: state.sync.commentUrl,
      seq: state.seq,
      postedSeq: state.sync.postedSeq,
      finalPosted: state.sync.finalCommentId !== null,
      lastError: state.sync.lastError,
    },
  };
}
