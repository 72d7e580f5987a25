import type { RunStore } from "./types.js";

/**
 * The time on the store's clock (a database's, as its latest answer showed it), or `ownClock` for a store
 * whose clock is its caller's (the file store). What a table is drawn at and leases are read against.
 */
export function storeTime(store: Pick<RunStore, "now">, ownClock: () => number): number {
  return store.now?.() ?? ownClock();
}
