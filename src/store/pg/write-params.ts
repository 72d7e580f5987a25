import { randomUUID } from "node:crypto";
import { agentEvent } from "../../model/run.js";
import type { RunState } from "../../model/types.js";
import type { RunRow } from "./latest.js";
import { changedAgentRows, runLevel } from "./rows.js";

/**
 * WRITE's parameters: the change from `before` (as read, at `run`'s revision and versions) to `next`. A
 * change of the run-level fields checks the run's revision (no write since the read), a change of agents
 * alone only the run's run-level version and each touched agent's version. `before` null: a run just
 * inserted (its run-level fields are written already).
 */
export function writeParams(
  run: RunRow,
  before: RunState | null,
  next: RunState,
  versions: Readonly<Record<string, number>>,
  correlationId: string | null,
): { values: unknown[]; isEvent: boolean; empty: boolean } {
  const rows = changedAgentRows(before, next, versions);
  // A change of the run (a new sequence number) is an event; sync bookkeeping (lease, posted seq) is not.
  const isEvent = before === null || next.seq !== before.seq;
  const ownFields = runLevel(next);
  const runChanged = before !== null && JSON.stringify(runLevel(before)) !== JSON.stringify(ownFields);
  const eventChanged = before !== null && next.event !== before.event;
  const touched = isEvent ? touchedAgent(next, rows) : null;
  return {
    isEvent,
    empty: before !== null && !runChanged && !eventChanged && !isEvent && rows.length === 0,
    values: [
      run.id,
      before === null || runChanged ? run.revision : null,
      before === null || runChanged ? null : run.runVersion,
      runChanged ? ownFields : null,
      before === null ? 0 : next.seq - before.seq,
      eventLine(before, next, touched),
      eventChanged,
      JSON.stringify(rows),
      isEvent,
      touched,
      (isEvent && correlationId) || randomUUID(),
    ],
  };
}

/**
 * The agent a change is about: the one changed row, or, of an agent and the ancestors whose sums and
 * times it moved, the agent (the changed row that is no other's parent). Null for a change of the run or
 * of several agents (`add` of two).
 */
function touchedAgent(next: RunState, rows: readonly { agent_id: string }[]): string | null {
  const parents = new Set(rows.map((row) => next.agents[row.agent_id]?.parentId ?? null));
  const agents = rows.filter((row) => !parents.has(row.agent_id));
  return agents.length === 1 ? agents[0]!.agent_id : null;
}

/**
 * The events row's line: the run's event line; for a change of an agent that leaves it as it was, the
 * change's own: an event the agent logged (its log grew) as `watch` prints it, `Agent <id>: <message>`,
 * else what its status says (`Agent <id> completed`, `… progress updated`), as a finalized run taking a
 * change made before its end keeps its own last line.
 */
function eventLine(before: RunState | null, next: RunState, agentId: string | null): string {
  if (before === null || next.event !== before.event || agentId === null) return next.event;
  const agent = next.agents[agentId];
  if (!agent) return next.event;
  const logged = agent.events?.at(-1);
  const earlier = before.agents[agentId]?.events?.at(-1);
  if (logged !== undefined && (logged.at !== earlier?.at || logged.message !== earlier?.message)) {
    return `Agent ${logged.agentId ?? agentId}: ${logged.message}`;
  }
  return agentEvent(agentId, agent.status);
}
