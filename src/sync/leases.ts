import type { Lease } from "../model/types.js";
import type { RunStore } from "../store/types.js";

/**
 * Leases in the shared run state: owned by a random token, valid until `expiresAt` on the store's clock.
 * The pure rules (acquire, renew) are used inside store transactions; renewHeld and releaseHeld are the
 * one renewal and release-if-mine of every lease, each one transaction. A holder that died simply stops
 * renewing; its lease is free once it expires, whichever machine looks.
 */

/** `owner`'s lease for `ms` from `now` when `lease` is free (none, expired, or already `owner`'s); else null. */
export function acquire(lease: Lease | null, owner: string, now: number, ms: number): Lease | null {
  if (lease && lease.owner !== owner && lease.expiresAt > now) return null;
  return { owner, expiresAt: now + ms };
}

/** `owner`'s lease extended to `now + ms`; null when it is not `owner`'s any more (it expired and was taken). */
export function renew(lease: Lease | null, owner: string, now: number, ms: number): Lease | null {
  return lease?.owner === owner ? { ...lease, expiresAt: Math.max(lease.expiresAt, now + ms) } : null;
}

/** Whether a holder should renew now: a third of the lease's length has passed since it was last renewed. */
export function renewalDue(lease: Lease, now: number, ms: number): boolean {
  return lease.expiresAt - now < (ms * 2) / 3;
}

/** The leases a run's shared state holds (`RunState.sync`): the write lease, the background writer, the queue retry. */
export type LeaseName = "lease" | "flusher" | "retryLock";

/**
 * Extends `owner`'s lease `name` in the store to `now + ms` (store clock); resolves false when it is not
 * `owner`'s any more (it expired and was taken, or the run is gone).
 */
export function renewHeld(store: RunStore, name: LeaseName, owner: string, ms: number): Promise<boolean> {
  return store.transact((current, now) => {
    const lease = current ? renew(current.sync[name], owner, now, ms) : null;
    if (!current || !lease) return { result: false };
    return { next: { ...current, sync: { ...current.sync, [name]: lease } }, result: true };
  });
}

/**
 * Clears lease `name` in the store if it is still `owner`'s (one taken over by another stays). With
 * `intervalFromNow` (a write whose outcome could not be recorded), the run's write interval counts from
 * now, the store's clock: a request of that write that reached GitHub is not followed by another writer's
 * within the interval (the claim set lastWriteAt to the write's start).
 */
export function releaseHeld(
  store: RunStore,
  name: LeaseName,
  owner: string,
  { intervalFromNow = false } = {},
): Promise<void> {
  return store.transact((current, now) => {
    if (!current || current.sync[name]?.owner !== owner) return { result: undefined };
    const sync = { ...current.sync, [name]: null };
    if (intervalFromNow) sync.lastWriteAt = Math.max(sync.lastWriteAt, now);
    return { next: { ...current, sync }, result: undefined };
  });
}
