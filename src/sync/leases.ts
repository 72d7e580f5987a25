import type { Lease } from "../model/types.js";

/**
 * Leases in the shared run state: owned by a random token, valid until `expiresAt` on the store's clock.
 * Pure functions, used inside store transactions. A holder that died simply stops renewing; its lease is
 * free once it expires, whichever machine looks.
 */

/** `owner`'s lease for `ms` from `now` when `lease` is free (none, expired, or already `owner`'s); else null. */
export function acquire(lease: Lease | null, owner: string, now: number, ms: number): Lease | null {
  if (lease && lease.owner !== owner && lease.expiresAt > now) return null;
  return { owner, expiresAt: now + ms };
}

/** `owner`'s lease extended to `now + ms`; null when it is not `owner`'s any more (it expired and was taken). */
export function renew(lease: Lease | null, owner: string, now: number, ms: number): Lease | null {
  return lease?.owner === owner ? { owner, expiresAt: Math.max(lease.expiresAt, now + ms) } : null;
}

/** Whether a holder should renew now: a third of the lease's length has passed since it was last renewed. */
export function renewalDue(lease: Lease, now: number, ms: number): boolean {
  return lease.expiresAt - now < (ms * 2) / 3;
}
