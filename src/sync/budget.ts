/**
 * A run's write budget: GitHub's secondary rate limits allow a token about 80 content writes a minute and
 * 500 an hour. A run keeps within them by itself as a token bucket on the store's clock (so across
 * processes and machines): a burst of WRITE_BURST writes, then one every WRITE_REFILL_MS on average. In
 * any hour that is at most 60 + 360 = 420 writes, and in any minute at most 66, whatever the run's
 * minimum interval. Pure.
 */

import type { SyncState } from "../model/types.js";

/** Writes a run may make at once before its budget spaces them. */
export const WRITE_BURST = 60;
/** The average time between writes once the burst is spent. */
export const WRITE_REFILL_MS = 10_000;

type Budget = SyncState["writeBudget"];

/** The writes the budget holds at `now` (null: a run that never wrote, a full bucket). */
export function budgetAt(budget: Budget, now: number): number {
  if (budget === null) return WRITE_BURST;
  return Math.min(WRITE_BURST, budget.tokens + Math.max(0, now - budget.at) / WRITE_REFILL_MS);
}

/**
 * The budget once a write starts at `now`. finalize and retry write whatever it holds, and are not paid
 * back: it stops at zero, so an ordinary write is never due more than WRITE_REFILL_MS away (within what
 * the background writers wait for).
 */
export function spend(budget: Budget, now: number): NonNullable<Budget> {
  return { tokens: Math.max(0, budgetAt(budget, now) - 1), at: now };
}

/** When the budget holds a write again: `now`, or when it has refilled one. */
export function budgetDue(budget: Budget, now: number): number {
  const held = budgetAt(budget, now);
  return held >= 1 ? now : now + Math.round((1 - held) * WRITE_REFILL_MS);
}
