import { randomUUID } from "node:crypto";
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
  return {
    isEvent,
    empty: before !== null && !runChanged && !eventChanged && !isEvent && rows.length === 0,
    values: [
      run.id,
      before === null || runChanged ? run.revision : null,
      before === null || runChanged ? null : run.runVersion,
      runChanged ? ownFields : null,
      before === null ? 0 : next.seq - before.seq,
      next.event,
      eventChanged,
      JSON.stringify(rows),
      isEvent,
      rows.length === 1 ? rows[0]!.agent_id : null,
      (isEvent && correlationId) || randomUUID(),
    ],
  };
}
