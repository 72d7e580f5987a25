import type { RunState } from "../model/types.js";

/** What a transaction decides: the state to persist (undefined: leave it as it is) and a result. */
export interface Transition<T> {
  next?: RunState | undefined;
  result: T;
}

/**
 * Where a run's state lives, and the only thing the processes (and machines) of a run share. Every
 * change goes through `transact`, one at a time across processes and machines (serialised or checked),
 * timed by the store's clock. Coordination (the write lease, the background writer's claim, the
 * back-off, the write interval, the queue-retry lock) lives in the state as expiring leases owned by
 * random tokens (`RunState.sync`), so a second implementation (PostgreSQL) serves many machines.
 * Implementations: `FileRunStore` (the epic directory); the PostgreSQL store.
 */
export interface RunStore {
  /** For messages: the state file's path, or the database (no password) and epic. */
  readonly location: string;
  /** A database store's epic, and the database as messages name it (no password); absent: the file store. */
  readonly database?: { database: string; epicId: string };
  /**
   * Secrets the store was given (a database URL's password), masked in agents' text as the environment's
   * tokens are: a URL given to the library alone is in no environment. Absent: none.
   */
  readonly secrets?: readonly string[];
  /** The current state, or null when no run was started. No lock. */
  read(): Promise<RunState | null>;
  /**
   * One run by its run id, of any epic (a queue may hold another epic's posts), or null when there is
   * none (or none the caller may see).
   * Absent: the store keeps the latest run only (the file store), which read() returns.
   */
  readRun?(runId: string): Promise<RunState | null>;
  /**
   * The store's clock as its latest answer showed it, carried on by this machine's clock: what a table
   * is drawn at (stalled marks, the ETA), so that a machine whose clock is off marks no live agent
   * stalled. Absent: the caller's own clock (the file store's clock is its caller's).
   */
  now?(): number;
  /**
   * Runs `change` on the current state with `now` from the store's clock (the database's clock; the
   * file store: its injected clock), persists `next` atomically (one transaction), and then notifies
   * subscribers; no other change of what it read lands in between. The file store holds an exclusive
   * lock across processes. The PostgreSQL store holds none: its write checks what the change read and
   * the change is made again on a fresh read when that moved; a change that alters only agents is
   * checked against those agents and the run's own fields, so the other agents, and `seq`, it was
   * handed may be behind the stored run (see PgRunStore). `change` is pure (it may be called more than
   * once); a change that throws persists nothing and rethrows. Both stores hand it (and `read` returns)
   * the state with its sync times held to what they can be at `now`: a wait an hour ahead at most, a
   * lease 15 s, a past write no later than `now` (held-times.ts).
   */
  transact<T>(change: (current: RunState | null, now: number) => Transition<T>): Promise<T>;
  /**
   * Calls `listener` soon after every committed change of this run, by any process on any machine
   * (file store: fs.watch on its folder; PostgreSQL: LISTEN/NOTIFY). Several changes may be reported
   * by one call. Resolves once listening, to a function that stops it. A listener that throws does not
   * stop it: its error is thrown on its own, an uncaught exception (guardListener).
   */
  subscribe(listener: () => void): Promise<() => Promise<void>>;
  /** Releases what the store holds open (connections, watchers). The store is not used after it. */
  close(): Promise<void>;
  /**
   * For `init --force`: a run that cannot be read (damaged, edited by hand) is set aside, kept for a
   * look, so that a new run can start. Resolves to why it was unreadable and where it was moved, or null.
   * Optional: a store that cannot hold an unreadable run (a database checks what it stores) has none.
   */
  setAsideUnreadable?(): Promise<{ problem: string; movedTo: string } | null>;
}

/**
 * The run an epic had at a time (a database store's PgRunStore.runAt): its id, and the run made next,
 * which replaced it (null: none yet). Here, not beside the query: the library's declarations name no
 * PostgreSQL client types.
 */
export interface RunAt {
  runId: string;
  replacedBy: { runId: string; startedAt: string } | null;
}
