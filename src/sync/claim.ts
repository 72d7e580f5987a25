import type { Lease, RunState, SyncState } from "../model/types.js";
import { spend } from "./budget.js";
import { decideWrite, settling, type WriteDecision } from "./decide.js";
import { acquire, renew, renewalDue } from "./leases.js";
import type { LocalWriters } from "./local-writer.js";
import type { Claim, StepOptions } from "./syncer-types.js";
import { LATE_LANDING_MS, WRITER_CLAIM_MS, WRITER_MAX_WAIT_MS, WRITER_START_MS } from "./timings.js";

/**
 * The claims made inside a store transaction, pure functions of the run state and the store's clock:
 * the write lease when a write is due, and the background writer's claim when a later write needs one.
 */

/**
 * `state` without the background writer's claim when its process is known to be gone (SyncDeps.writers):
 * read so by every claim of a writer, which then claims one of its own.
 */
export function withoutGoneWriter(state: RunState, writers?: Pick<LocalWriters, "gone">): RunState {
  const { flusher } = state.sync;
  return flusher && writers?.gone(flusher) ? { ...state, sync: { ...state.sync, flusher: null } } : state;
}

/**
 * Whether a write that is not due yet is left to a background writer: it falls due within the minute a
 * background writer waits at most (`now`: the store's clock, the decision's). A later one is left to the
 * next command, `retry` or `finalize`.
 */
export function leftToBackgroundWriter(decision: { until: number }, now: number): boolean {
  return decision.until - now <= WRITER_MAX_WAIT_MS;
}

/** Claims the background writer for `owner` to start, unless a live claim exists. */
export function claimBackgroundWriter(
  sync: SyncState,
  owner: string,
  now: number,
): { sync: SyncState; claimed: boolean } {
  if (sync.flusher && sync.flusher.expiresAt > now) return { sync, claimed: false };
  return { sync: { ...sync, flusher: { owner, expiresAt: now + WRITER_START_MS } }, claimed: true };
}

/**
 * The background writer's claim for `owner` when `decision` leaves a write to one: it is due now, or
 * falls due within the minute a background writer waits at most (leftToBackgroundWriter); a later one is
 * left to the next command, `retry` or `finalize`. The one rule for every claim of a writer.
 */
export function claimWriterIfOwed(
  sync: SyncState,
  decision: WriteDecision,
  owner: string,
  now: number,
  writers?: Pick<LocalWriters, "marked">,
): WriterClaim {
  if (!writerOwed(decision, now)) return { sync, claimed: false, standby: false };
  const claim = claimBackgroundWriter(sync, owner, now);
  const other = !claim.claimed && sync.flusher !== null && sync.flusher.owner !== owner;
  return { ...claim, standby: other && standbyOwed(sync.flusher!, writers) };
}

/**
 * What a call does for a write left to a background writer: `claimed`, one to start; `standby`, another
 * process's live claim holds it, which this machine cannot judge: a standby writer is started (standbyOwed).
 */
export interface WriterClaim {
  sync: SyncState;
  claimed: boolean;
  standby: boolean;
}

/** Whether `decision` leaves a write to a background writer: due now, or within the minute one waits. */
export function writerOwed(decision: WriteDecision, now: number): boolean {
  return (
    decision.kind === "write" ||
    ((decision.kind === "wait" || decision.kind === "busy" || decision.kind === "backoff") &&
      leftToBackgroundWriter(decision, now))
  );
}

/**
 * Whether a write left to the live background writer whose claim is `flusher` gets a standby writer too: the
 * claim is not marked in this machine's process space (another machine, a container of its own, no /proc,
 * or not marked yet), so its writer, if killed, is not seen gone here, only once its claim expires, when
 * no call may come to look. The standby looks then (background-writer.ts: standBy).
 */
export function standbyOwed(flusher: Lease, writers?: Pick<LocalWriters, "marked">): boolean {
  return !(writers?.marked(flusher) ?? false);
}

/**
 * The write decision for `current`: takes the lease when a write is due, or claims the background writer
 * when a later write is needed and nobody will do it. The claim's state is the one to persist (the same
 * object when nothing changed).
 */
export function claimWrite(
  current: RunState,
  now: number,
  owner: string,
  leaseMs: number,
  options: StepOptions = {},
  writers?: Pick<LocalWriters, "marked">,
): Claim {
  // A lease is busy until it expires, even when its holder died: its request may still be in flight.
  const decision = decideWrite(current, now, owner, options.ignoreBackoff ?? false);
  let sync = current.sync;
  let claimed = false;
  let standby = false;
  const writerLost = options.asBackgroundWriter === true && sync.flusher?.owner !== owner;
  if (options.asBackgroundWriter && !writerLost && renewalDue(sync.flusher!, now, WRITER_CLAIM_MS)) {
    sync = { ...sync, flusher: renew(sync.flusher, owner, now, WRITER_CLAIM_MS) };
  }
  if (writerLost) {
    // Another background writer runs now: leave everything to it.
  } else if (decision.kind === "write") {
    const previous = sync.lease;
    sync = {
      ...sync,
      lease: acquire(previous, owner, now, leaseMs),
      lastWriteAt: now,
      writeBudget: spend(sync.writeBudget, now),
    };
    // Taken over from a holder that never released it: its last request may land after ours.
    if (previous && previous.owner !== owner && current.github.commentMode === "edit") {
      sync.settleUntil = Math.max(sync.settleUntil, previous.expiresAt + LATE_LANDING_MS);
    }
  } else if (options.asBackgroundWriter && (decision.kind === "clean" || decision.kind === "local")) {
    if (sync.flusher?.owner === owner) sync = { ...sync, flusher: null };
  } else if (options.ensureBackgroundWriter) {
    ({ sync, claimed, standby } = claimWriterIfOwed(sync, decision, owner, now, writers));
  }
  const state = sync === current.sync ? current : { ...current, sync };
  return {
    decision,
    state,
    claimBackgroundWriter: claimed,
    standbyWriter: standby,
    writerLost,
    now,
    previousWriteAt: current.sync.lastWriteAt,
    previousBudget: current.sync.writeBudget,
  };
}

/**
 * The background writer's claim when the issue owes a write that only time makes due (the repeat after
 * settleUntil, a create held until an unanswered one can no longer land, another process's write lease)
 * and none is alive, or a standby beside another machine's live one (standbyOwed); null when no such
 * write is owed. A lease's holder may die before it writes (a runner kills a job's processes when it ends):
 * when it is the background writer, its claim is taken over too, and the writer claimed here waits the
 * lease out (the holder, if alive, stops after its write: its claim is another's).
 */
export function claimWriterForLaterWrite(
  current: RunState,
  now: number,
  owner: string,
  writers?: Pick<LocalWriters, "marked">,
): WriterClaim | null {
  const decision = decideWrite(current, now, owner);
  const busy = decision.kind === "busy";
  if (!(settling(current) || current.sync.unsureCreate || busy)) return null;
  const { flusher, lease } = current.sync;
  const writerHolds = busy && flusher !== null && flusher.owner === lease?.owner;
  const sync = writerHolds ? { ...current.sync, flusher: null } : current.sync;
  return claimWriterIfOwed(sync, decision, owner, now, writers);
}
