import { MAX_RATE_LIMIT_WAIT_MS } from "../github/rate-limit.js";
import { EMPTY_SYNC } from "../model/run.js";
import type { Lease, RunState, SyncState } from "../model/types.js";
import { WRITE_BURST } from "../sync/budget.js";
import { LONGEST_CLAIM_MS } from "../sync/timings.js";
import type { Transition } from "./types.js";

/**
 * `state` with every time of its sync bookkeeping held to what it can be at `now`, the store's clock:
 * - the waits (`rateLimitedUntil`, `backoffUntil`) to an hour ahead at most, the longest wait a GitHub
 *   answer is taken at (rate-limit.ts);
 * - the leases' expiries (`lease`, `flusher`, `retryLock`) and the windows of a request that may still
 *   land (`settleUntil`, `unsureCreate.until`) to LONGEST_CLAIM_MS ahead at most (15 s);
 * - the times of what already happened (`lastWriteAt`, `writeBudget.at`) to `now` at most, and the
 *   budget's writes to 0..WRITE_BURST.
 * A time further away was written by a build before these rules, an older client on a shared database, a
 * store whose clock was since stepped back or a hand: it would stop the run's writes, `finalize` and
 * `retry` included, until then (and one past what a date holds crashed whatever showed it). A lease so
 * held stays its holder's for its length, as a live holder's on a clock stepped back must. A time that
 * is no number or below 0 (a database's run is not checked by the schema) is 0, as none. The same
 * object when nothing is held.
 */
export function withTimesHeld(state: RunState, now: number): RunState {
  // A database's run without sync, or with something else in its place (SQL may leave it so): a new
  // run's (nothing written yet, nothing held), which its first change writes back.
  if (state.sync === null || typeof state.sync !== "object") return { ...state, sync: { ...EMPTY_SYNC } };
  const sync = heldSync(state.sync, now);
  return sync === state.sync ? state : { ...state, sync };
}

/**
 * `change` as a store runs it: on the state it read with its times held (withTimesHeld). A state whose
 * times were held is written so even when the change writes nothing: an hour (or a lease's 15 s) counts
 * from the first change that held it (held again at every read, a time further away would move on with
 * the clock). A command that only reads (`status`, `watch`, `serve`) is shown the held state and writes
 * nothing.
 */
export function onTimesHeld<T>(
  change: (current: RunState | null, now: number) => Transition<T>,
): (current: RunState | null, now: number) => Transition<T> {
  return (current, now) => {
    const held = current && withTimesHeld(current, now);
    const transition = change(held, now);
    if (transition.next !== undefined || held === null || held === current) return transition;
    return { ...transition, next: held };
  };
}

function heldSync(sync: SyncState, now: number): SyncState {
  const waits = now + MAX_RATE_LIMIT_WAIT_MS;
  const claims = now + LONGEST_CLAIM_MS;
  const { unsureCreate, writeBudget } = sync;
  const held: SyncState = {
    ...sync,
    lastWriteAt: within(sync.lastWriteAt, now),
    lease: leaseWithin(sync.lease, claims),
    flusher: leaseWithin(sync.flusher, claims),
    retryLock: leaseWithin(sync.retryLock, claims),
    settleUntil: within(sync.settleUntil, claims),
    unsureCreate:
      unsureCreate && sameOr(unsureCreate, { ...unsureCreate, until: within(unsureCreate.until, claims) }),
    backoffUntil: within(sync.backoffUntil, waits),
    rateLimitedUntil: within(sync.rateLimitedUntil, waits),
    writeBudget:
      writeBudget &&
      sameOr(writeBudget, {
        ...writeBudget,
        tokens: within(writeBudget.tokens, WRITE_BURST),
        at: within(writeBudget.at, now),
      }),
  };
  return sameOr(sync, held);
}

/** `value` held to 0..`latest`: 0 when it is no number (or NaN). */
function within(value: number, latest: number): number {
  if (typeof value !== "number" || !(value >= 0)) return 0;
  return value > latest ? latest : value;
}

function leaseWithin(lease: Lease | null, latest: number): Lease | null {
  return lease && sameOr(lease, { ...lease, expiresAt: within(lease.expiresAt, latest) });
}

/** `before` when `after` (a copy of it with some fields held) holds the same values, else `after`. */
function sameOr<T extends object>(before: T, after: T): T {
  for (const key of Object.keys(after) as (keyof T)[]) {
    if (after[key] !== before[key]) return after;
  }
  return before;
}
