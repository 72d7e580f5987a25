import { agentWork } from "./agent-work.js";
import { treeOrder } from "./tree.js";
import type { AgentState, AgentStatus, RunState } from "./types.js";

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
  /** As the run ended: an agent unfinished then keeps its `pending` or `in_progress`. */
  status: AgentStatus;
  /**
   * The final summary's duration (agentWork): to when it finished, or, unfinished, to the run's end
   * (finalize or abandonment). Null when it did not start, or is unfinished while the run is active.
   */
  durationMs: number | null;
  /** The parent's domain (`add --parent`); null for a top-level agent. */
  parent: string | null;
  /** 0 for a top-level agent, 1 for its children, and so on. */
  depth: number;
}

/** The final summary's duration (agentWork); null when it did not start. */
function agentDuration(agent: AgentState, startedAt: number, endedAt: number | null): number | null {
  // An active run has no end yet (the span's end is then unused): its unfinished agents have no duration.
  const work = agentWork(agent, { startedAt, endedAt: endedAt ?? startedAt });
  if (work === null || (work.unfinished && endedAt === null)) return null;
  return work.ms;
}

export function toHistoryEntry(state: RunState): HistoryEntry {
  const started = Date.parse(state.startedAt);
  const ended = state.completedAt === null ? null : Date.parse(state.completedAt);
  return {
    epicId: state.epicId,
    runId: state.runId,
    startedAt: state.startedAt,
    status: state.abandonedAt ? "abandoned" : state.completedAt ? "completed" : "active",
    completedAt: state.completedAt,
    durationMs: ended === null ? null : Math.max(0, ended - started),
    agents: treeOrder(Object.values(state.agents)).map(({ agent, depth }) => ({
      domain: agent.domain,
      status: agent.status,
      durationMs: agentDuration(agent, started, ended),
      parent: depth === 0 ? null : (state.agents[agent.parentId ?? ""]?.domain ?? null),
      depth,
    })),
  };
}
