import type { AgentState, RunState } from "../../model/types.js";

/** An agent as a row of `parallel_progress.agents` (the JSON handed to jsonb_to_recordset). */
export interface AgentRow {
  agent_id: string;
  /** The row's version the change read (null: a new agent). */
  version: number | null;
  /** The whole agent (what the store hands to a change). */
  state: AgentState;
  domain: string;
  status: string;
  files_completed: number;
  files_total: number;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  summary: string | null;
  error: string | null;
}

const toRow = (agent: AgentState, version: number | null): AgentRow => ({
  agent_id: agent.agentId,
  version,
  state: agent,
  domain: agent.domain,
  status: agent.status,
  files_completed: agent.filesCompleted,
  files_total: agent.filesTotal,
  started_at: agent.startedAt,
  finished_at: agent.finishedAt,
  updated_at: agent.updatedAt,
  summary: agent.summary,
  error: agent.error,
});

/**
 * The agents a change touched (all of them for a new run), as rows at the version it read (`versions`):
 * only those are written and checked, so a change costs one row per agent it changed, whatever the size of
 * the run, and changes of different agents do not conflict. Agents are never removed from a run.
 */
export function changedAgentRows(
  before: RunState | null,
  after: RunState,
  versions: Readonly<Record<string, number>>,
): AgentRow[] {
  const same = before !== null && before.runId === after.runId;
  if (same) {
    for (const id of Object.keys(before.agents)) {
      if (!(id in after.agents)) throw new Error(`a change removed agent ${id}: agents stay in their run`);
    }
  }
  const rows: AgentRow[] = [];
  for (const [id, agent] of Object.entries(after.agents)) {
    const old = same ? before.agents[id] : undefined;
    if (old === agent) continue;
    if (old && JSON.stringify(old) === JSON.stringify(agent)) continue;
    rows.push(toRow(agent, old ? (versions[id] ?? 0) : null));
  }
  return rows;
}

/** A run's own fields: everything but its agents, sequence number and event line (kept apart). */
export function runLevel(state: RunState): Omit<RunState, "agents" | "seq" | "event"> {
  const { agents: _agents, seq: _seq, event: _event, ...rest } = state;
  return rest;
}
