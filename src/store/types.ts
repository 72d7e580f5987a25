import type { RunState } from "../model/types.js";

/** What a transaction decides: the state to persist (undefined: leave it as it is) and a result. */
export interface Transition<T> {
  next?: RunState | undefined;
  result: T;
}

/**
 * Where a run's state lives. Every change goes through `transact`, which runs `change` under an
 * exclusive lock that holds across processes, with the freshest state, and persists the result
 * atomically. The file store is the only implementation today; a database-backed store
 * (PostgreSQL, for workers on many machines) would implement the same interface.
 */
export interface RunStore {
  /** The current state, or null when no run was ever started here. No lock taken. */
  read(): Promise<RunState | null>;
  /** Runs `change` with the current state under the lock and persists `next` if given. */
  transact<T>(change: (current: RunState | null) => Transition<T>): Promise<T>;
}
