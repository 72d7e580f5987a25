import type pg from "pg";
import { applyAbandon } from "../../model/run.js";
import type { RunState } from "../../model/types.js";
import type { Transition } from "../types.js";
import { type Latest, type RunRow, readLatest } from "./latest.js";
import { AlreadyAppliedError, isConflict, LostRowError } from "./pg-errors.js";
import { runLevel } from "./rows.js";
import type { Session } from "./session.js";
import { APPLIED, INSERT_RUN, PAST_DURATIONS, WRITE } from "./statements.js";
import { writeParams } from "./write-params.js";

/** A change's own id, stored with its event; a change replayed with the same id is applied once. */
export interface Correlation {
  id: string;
  replay: boolean;
}

/** A write that found the run changed since its read: read again. */
export const CONFLICT: unique symbol = Symbol("conflict");
/** A change that starts a run: done in a locked transaction (there is no row to compare yet). */
export const NEEDS_LOCK: unique symbol = Symbol("needs lock");
export type Attempt<T> = { result: T; wrote: boolean } | typeof CONFLICT | typeof NEEDS_LOCK;

/**
 * One try of a change: without a lock (`locked` false: one read, then one autocommit statement that
 * checks what the change read, see WRITE), or in a transaction that holds the epic's lock and the run
 * row's (a new run; a change that lost its optimistic tries). A locked try sends BEGIN, the epic's lock
 * and its read together, and COMMIT with its write (the pool's connections pipeline).
 */
export async function tryChange<T>(
  client: pg.PoolClient,
  session: Session,
  change: (current: RunState | null, now: number) => Transition<T>,
  correlation: Correlation | null,
  locked: boolean,
): Promise<Attempt<T>> {
  // A locked try takes the epic's lock before the run row's, the order of every taker of both (two at once
  // in the other order deadlocked: one held the row and waited for the epic's lock, the other the reverse).
  // Holding it, no run is made in the epic (migration 4's triggers take it too): a new run is made from the
  // latest run this try reads.
  const row = locked
    ? (
        await Promise.all([
          // The level the locked read relies on (a run made while it waited is seen), whatever the default.
          client.query("BEGIN ISOLATION LEVEL READ COMMITTED"),
          lockEpic(client, session),
          readLatest(client, session, true),
        ])
      )[2]
    : await readLatest(client, session, false);
  if (correlation?.replay && row.id !== null && (await applied(client, session.epicId, correlation.id)))
    throw new AlreadyAppliedError(correlation.id);
  const transition = change(row.state, row.now);
  let next = transition.next;
  const unchanged = async () => {
    if (locked) await client.query("COMMIT");
    return { result: transition.result, wrote: false };
  };
  if (next === undefined) return unchanged();
  // Agents added to the run (add) learn their domains' durations in earlier runs too, as a new run's do.
  if (row.state !== null && next.runId === row.state.runId && addsAgents(row.state, next))
    next = await withPastDurations(client, next);
  let where: RunRow = row;
  let before = row.state;
  if (row.state === null || next.runId !== row.state.runId) {
    if (!locked) return NEEDS_LOCK;
    if (row.state !== null) await replaced(client, session, row);
    next = await withPastDurations(client, next);
    const inserted = await client.query<{ id: string; channel: string }>(INSERT_RUN, [
      next.runId,
      session.epicId,
      next.github.repo,
      next.github.issueNumber,
      next.startedAt,
      next.completedAt,
      next.seq,
      next.event,
      runLevel(next),
    ]);
    where = { id: inserted.rows[0]!.id, revision: "0", runVersion: "0" };
    before = null;
  }
  const { values, isEvent, empty } = writeParams(where, before, next, row.versions, correlation?.id ?? null);
  if (empty) return unchanged();
  let written: pg.QueryResult;
  try {
    const write = client.query(session.statement("pp_write", WRITE, values));
    // A failed write aborts the transaction: the COMMIT behind it then ends it as a rollback.
    [written] = await Promise.all([write, locked ? client.query("COMMIT") : null]);
  } catch (error) {
    const conflict = isConflict(error);
    if (conflict && !locked) return CONFLICT;
    // A replayed change that another process applied between this read and this write.
    const code = (error as { code?: unknown }).code;
    if (code === "23505" && correlation?.replay && !locked) throw new AlreadyAppliedError(correlation.id);
    if (conflict) throw new LostRowError();
    throw error;
  }
  if (written.rowCount === 0) {
    if (locked) throw new LostRowError();
    return CONFLICT;
  }
  return { result: transition.result, wrote: isEvent };
}

/** The epic's advisory lock, held to the transaction's end: new runs of an epic are made one at a time. */
function lockEpic(client: pg.PoolClient, session: Session): Promise<unknown> {
  return client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`run:${session.epicId}`]);
}

/**
 * The epic's latest run is replaced by a new one: closed as abandoned if it was still open (`init
 * --force`: history shows it so), and its listeners told either way, so that they follow the new run.
 */
async function replaced(client: pg.PoolClient, session: Session, old: Latest): Promise<void> {
  const state = old.state!;
  await client.query("SELECT pg_notify($1, 'replaced')", [old.channel]);
  if (state.completedAt !== null) return;
  const closed = applyAbandon(state, old.now);
  const { values } = writeParams(old, state, closed, old.versions, null);
  const written = await client.query(session.statement("pp_write", WRITE, values));
  if (written.rowCount === 0) throw new LostRowError();
}

/** A new run learns how long its domains took in earlier runs (for the ETA): the median of the latest 20. */
async function withPastDurations(client: pg.PoolClient, run: RunState): Promise<RunState> {
  const domains = Object.values(run.agents).map((agent) => agent.domain);
  const { rows } = await client.query<{ domain: string; ms: number }>(PAST_DURATIONS, [domains]);
  if (rows.length === 0) return run;
  return { ...run, pastDurations: Object.fromEntries(rows.map((row) => [row.domain, Math.round(row.ms)])) };
}

/** The epic's runs hold a change with this correlation id. */
async function applied(client: pg.PoolClient, epicId: string, correlationId: string): Promise<boolean> {
  const { rows } = await client.query(APPLIED, [epicId, correlationId]);
  return rows.length > 0;
}

/** The change adds agents to the run. */
const addsAgents = (before: RunState, next: RunState): boolean =>
  Object.keys(next.agents).some((id) => !(id in before.agents));
