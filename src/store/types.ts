import type { RunState } from "../model/types.js";

/** What a transaction decides: the state to persist (undefined: leave it as it is) and a result. */
export interface Transition<T> {
  next?: RunState | undefined;
  result: T;
}

/**
 * Where a run's state lives, and the only thing the processes (and machines) of a run share. Every
 * change goes through `transact`, under an exclusive lock that holds across processes and machines,
 * timed by the store's clock. Coordination (the write lease, the background writer's claim, the
 * back-off, the write interval, the queue-retry lock) lives in the state as expiring leases owned by
 * random tokens (`RunState.sync`), so a second implementation (PostgreSQL) serves many machines.
 * Implementations: `FileRunStore` (the epic directory); the PostgreSQL store.
 */
export interface RunStore {
  /** For messages: the state file's path, or the database (no password) and epic. */
  readonly location: string;
  /** The current state, or null when no run was started. No lock. */
  read(): Promise<RunState | null>;
  /**
   * Runs `change` with the freshest state under an exclusive lock that holds across processes and
   * machines, with `now` from the store's clock (the database's now(); the file store: its injected
   * clock), persists `next` atomically (one transaction), and then notifies subscribers. `change` is
   * pure (it may be called more than once); a change that throws persists nothing and rethrows.
   */
  transact<T>(change: (current: RunState | null, now: number) => Transition<T>): Promise<T>;
  /**
   * Calls `listener` soon after every committed change of this run, by any process on any machine
   * (file store: fs.watch on its folder; PostgreSQL: LISTEN/NOTIFY). Several changes may be reported
   * by one call. Resolves once listening, to a function that stops it.
   */
  subscribe(listener: () => void): Promise<() => Promise<void>>;
  /** Releases what the store holds open (connections, watchers). The store is not used after it. */
  close(): Promise<void>;
}
