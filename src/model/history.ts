import { treeOrder } from "./tree.js";
import type { AgentStatus, RunState } from "./types.js";

/** One past or current run, as `history --json` prints it (CONTRACT: history). */
export interface HistoryEntry {
  epicId: string;
  runId: string;
  startedAt: string;
  /** `active` until finalized; `abandoned` when another run of the epic replaced it first (init --force). */
  status: "active" | "completed" | "abandoned";
  completedAt: string | null;
  /** From start to finalize (or abandonment); null while the run is active. */
  durationMs: number | null;
  /** In display order (treeOrder): each child right after its parent, `parent` naming its domain. */
  agents: HistoryAgent[];
}

export interface HistoryAgent {
  domain: string;
  status: AgentStatus;
  durationMs: number | null;
  /** The parent's domain (`add --parent`); null for a top-level agent. */
  parent: string | null;
  /** 0 for a top-level agent, 1 for its children, and so on. */
  depth: number;
}

/** An agent's duration: from when it left pending to when it finished (null until both are known). */
function agentDuration(startedAt: string | null, finishedAt: string | null): number | null {
  if (!startedAt || !finishedAt) return null;
  return Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt));
}

export function toHistoryEntry(state: RunState): HistoryEntry {
  return {
    epicId: state.epicId,
    runId: state.runId,
    startedAt: state.startedAt,
    status: state.abandonedAt ? "abandoned" : state.completedAt ? "completed" : "active",
    completedAt: state.completedAt,
    durationMs: state.completedAt
      ? Math.max(0, Date.parse(state.completedAt) - Date.parse(state.startedAt))
      : null,
    agents: treeOrder(Object.values(state.agents)).map(({ agent, depth }) => ({
      domain: agent.domain,
      status: agent.status,
      durationMs: agentDuration(agent.startedAt, agent.finishedAt),
      parent: depth === 0 ? null : (state.agents[agent.parentId ?? ""]?.domain ?? null),
      depth,
    })),
  };
}
