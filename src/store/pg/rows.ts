import type { AgentState, RunState } from "../../model/types.js";

/** An agent as a row of `parallel_progress.agents` (the JSON handed to jsonb_to_recordset). */
export interface AgentRow {
  agent_id: string;
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

const toRow = (agent: AgentState): AgentRow => ({
  agent_id: agent.agentId,
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
 * The agents a change touched (all of them for a new run), as rows: only those are written, so a change
 * costs one row per agent it changed, whatever the size of the run.
 */
export function changedAgentRows(before: RunState | null, after: RunState): AgentRow[] {
  const same = before !== null && before.runId === after.runId;
  const rows: AgentRow[] = [];
  for (const [id, agent] of Object.entries(after.agents)) {
    const old = same ? before.agents[id] : undefined;
    if (old && JSON.stringify(toRow(old)) === JSON.stringify(toRow(agent))) continue;
    rows.push(toRow(agent));
  }
  return rows;
}
