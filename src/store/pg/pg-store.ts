import pg from "pg";
import { StoreUnavailableError } from "../../errors.js";
import type { RunState } from "../../model/types.js";
import { Slots } from "../../util/slots.js";
import { onTimesHeld, withTimesHeld } from "../held-times.js";
import type { RunAt, RunStore, Transition } from "../types.js";
import { ClosingClient, endWithin, GOODBYE_WAIT_MS, settledWithin } from "./client.js";
import { connectionConfig, databasePlace, explainPgError, parseStoreUrl } from "./config.js";
import { readLatest, readRun, readRunAt } from "./latest.js";
import { migrateExplained, newerSchemaError } from "./migrate.js";
import { LATEST_VERSION } from "./migrations.js";
import {
  isBroken,
  isLostStatement,
  isMissingSchema,
  isOurs,
  LostRowError,
  markOurs,
  SchemaBehind,
} from "./pg-errors.js";
import { Session } from "./session.js";
import { subscribeToEpic } from "./subscription.js";
import { CONFLICT, type Correlation, NEEDS_LOCK, tryChange } from "./write-attempt.js";

export { AlreadyAppliedError } from "./pg-errors.js";

const DEFAULT_MAX_CONNECTIONS = 10;

export interface PgStoreOptions {
  /** `postgres://` / `postgresql://` URL (libpq parameters such as sslmode included). */
  url: string;
  /** The run is the latest run of this epic. */
  epicId: string;
  /**
   * Connections kept by the pool (default 10): 1 for a short CLI call, more for the library and
   * long-lived commands.
   */
  maxConnections?: number;
  /** How long to wait for a connection before the database counts as unreachable (default 5 s). */
  connectTimeoutMs?: number;
  /** Statement timeout, so a stuck database never hangs a call for long (default 10 s). */
  statementTimeoutMs?: number;
  /**
   * Tries of a change without a lock (its write checks what it read: see WRITE) before it locks
   * the run row for one last try (default 5). Changes of different agents do not conflict; a change of the
   * run-level fields (the sync bookkeeping, finalize) conflicts with any write since its read. 0: every
   * change locks the run row (the design before schema version 3, kept as a measure in bench/pg.ts).
   */
  optimisticAttempts?: number;
}

/** Tries without a lock before the locked one (see PgStoreOptions.optimisticAttempts). */
const DEFAULT_OPTIMISTIC_ATTEMPTS = 5;

/**
 * The run state in PostgreSQL, shared by every machine that reaches the database. A change reads the epic's
 * latest run (its run row and agent rows) with the database's clock, runs, and writes what it changed in
 * one autocommit statement (WRITE): the run row (the run's next sequence number, taken under the
 * row's lock for the statement only), the agents it touched at the versions it read, an event row (its
 * correlation id) and a NOTIFY. A write that finds what it read changed writes nothing and the change is
 * made again on a fresh read; after `optimisticAttempts` such tries, in a transaction that locks the run row.
 * A new run is made in that locked transaction, under a per-epic advisory lock.
 *
 * So a change of one agent never waits on another agent's change across a round trip. The state handed to
 * a change of agents alone may be behind in the other agents (they are not checked): its `seq` is the run's
 * sequence number as read, and the number the write takes may be higher (contiguous, in commit order). A
 * change of the run-level fields (the sync bookkeeping: what the GitHub write posts) sees the run exactly as
 * it is written.
 */
export class PgRunStore implements RunStore {
  readonly location: string;
  readonly database: { database: string; epicId: string };
  private readonly session: Session;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private readonly listeners = new Set<ClosingClient>();
  /** The pool's connections, open or opening: closed at once by close() once their goodbye is overdue. */
  private readonly connections = new Set<ClosingClient>();
  /**
   * The pool's connections, one per change or read: a call waits here for its turn, not in the pool's
   * own queue, which gives up after connectTimeoutMs however busy the pool is (a burst of calls bigger
   * than the pool, on a database answering well, rejected as "not answering": timeout exceeded when
   * trying to connect). It gives up once no call got through for connectTimeoutMs (see Slots).
   */
  private readonly turns: Slots;
  /** Passwords the password file (~/.pgpass) gave this store's connections: see secrets. */
  private readonly passwords = new Set<string>();
  private readonly urlSecrets: readonly string[];
  private correlation: Correlation | null = null;
  private closed = false;
  /** The database's clock less this machine's, as the latest read or change saw them (see now()). */
  private clockOffsetMs = 0;

  constructor(private readonly options: PgStoreOptions) {
    const where = parseStoreUrl(options.url);
    this.urlSecrets = where.secrets;
    this.session = new Session(options.epicId, where.safe);
    ({ location: this.location, database: this.database } = databasePlace(where.safe, options.epicId));
    this.config = connectionConfig(where, options);
    const size = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    // Idle pooled connections do not keep the process alive (allowExitOnIdle): a short call ends when done.
    this.pool = new pg.Pool({
      ...this.config,
      Client: trackedIn(this.connections, this.passwords),
      pipeline: true,
      max: size, // as many as `turns`: a call connects only on its turn
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
    });
    const patienceMs = this.config.connectionTimeoutMillis!;
    this.turns = new Slots(
      size,
      patienceMs,
      () =>
        new StoreUnavailableError(
          `${this.session.where} is not answering: no call got through in ${patienceMs} ms`,
        ),
    );
    // An idle connection that the server drops (restart) must not crash the process: the next query reconnects.
    this.pool.on("error", () => undefined);
  }

  get epicId(): string {
    return this.options.epicId;
  }

  /**
   * The secrets of this store: its URL's, and the password the password file gave once a connection read
   * it (in no URL or environment, and as secret: agents' text quoting it is masked from then on, and a
   * change's text is masked when the change runs, on its connection).
   */
  get secrets(): string[] {
    return [...this.urlSecrets, ...this.passwords];
  }

  async read(): Promise<RunState | null> {
    return this.withClient(async (client) => {
      const latest = await readLatest(client, this.session, false);
      this.sawClock(latest.now);
      return latest.state && withTimesHeld(latest.state, latest.now);
    });
  }

  /** Run `runId`, of any epic (run ids are unique), as read() reads the latest (null: none the role may see). */
  async readRun(runId: string): Promise<RunState | null> {
    return this.withClient(async (client) => {
      const { now, state } = await readRun(client, runId);
      if (now === null || state === null) return null;
      this.sawClock(now);
      return withTimesHeld(state, now);
    });
  }

  /**
   * The run that was the epic's latest at `time` (epoch ms, the database's clock), of those the role may
   * see, and the run that replaced it; null when none had started by then (see replayPending: why a kept
   * change made then is not the latest run's).
   */
  async runAt(time: number): Promise<RunAt | null> {
    return this.withClient((client) => readRunAt(client, this.options.epicId, time));
  }

  /** The database's time: its clock as the latest read or change saw it, moved on by this machine's. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private sawClock(databaseNow: number): void {
    this.clockOffsetMs = databaseNow - Date.now();
  }

  async transact<T>(given: (current: RunState | null, now: number) => Transition<T>): Promise<T> {
    const correlation = this.correlation;
    const held = onTimesHeld(given);
    // What the change itself throws (a refused change) is the application's: the connection is healthy.
    const change = (current: RunState | null, now: number): Transition<T> => {
      this.sawClock(now);
      try {
        return held(current, now);
      } catch (error) {
        markOurs(error);
        throw error;
      }
    };
    try {
      const { result, wrote } = await this.withClient(async (client) => {
        for (
          let attempt = 0;
          attempt < (this.options.optimisticAttempts ?? DEFAULT_OPTIMISTIC_ATTEMPTS);
          attempt++
        ) {
          const outcome = await tryChange(client, this.session, change, correlation, false);
          if (outcome === NEEDS_LOCK) break;
          if (outcome !== CONFLICT) return outcome;
        }
        try {
          const outcome = await tryChange(client, this.session, change, correlation, true);
          if (outcome === CONFLICT || outcome === NEEDS_LOCK) throw new LostRowError();
          return outcome;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        }
      });
      if (wrote && this.correlation === correlation) this.correlation = null;
      return result;
    } catch (error) {
      if (this.correlation === correlation) this.correlation = null;
      throw error;
    }
  }

  /**
   * The next change this store commits carries `id` as its correlation id (stored with its event). With
   * `replay`, a change whose id the run already holds is not applied again: that transaction throws
   * AlreadyAppliedError instead (a change kept on a machine's disk while the database was down, applied
   * once whatever happens to the process that applies it).
   */
  correlate(id: string, replay: boolean): void {
    this.correlation = { id, replay };
  }

  /**
   * Runs `work` on a pooled connection; a schema that is missing or older than this release is migrated
   * first (once), and errors become ours (configuration: UsageError; not answering: StoreUnavailableError).
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const closed = () => new StoreUnavailableError(`${this.session.where}: the store is closed`);
    if (this.closed) throw closed();
    const done = await this.turns.take();
    let answered = true;
    try {
      if (this.closed) throw closed();
      return await this.connected(work);
    } catch (error) {
      answered = !(error instanceof StoreUnavailableError);
      throw error;
    } finally {
      done(answered);
    }
  }

  /** withClient's work, on its turn. */
  private async connected<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | null = null;
      try {
        // A server that goes away between two queries does not crash the process (ClosingClient): the
        // failed query reports it.
        client = await this.pool.connect();
        return await work(client);
      } catch (error) {
        if (this.session.named && isLostStatement(error)) {
          // Nothing was written (the statement did not run): the work is done again, unnamed.
          this.session.named = false;
          attempt--;
          continue;
        }
        const missing = error instanceof SchemaBehind || isMissingSchema(error);
        if (missing && attempt === 0 && client) {
          const { version } = await migrateExplained(client, this.session.where);
          if (version > LATEST_VERSION) throw newerSchemaError(this.session.where, version, error);
          continue;
        }
        const ours = isOurs(error);
        if (client) {
          client.release(!ours && isBroken(error) ? true : undefined);
          client = null;
        }
        if (ours) throw error;
        throw explainPgError(error, this.session.where);
      } finally {
        client?.release();
      }
    }
  }

  /** Calls `listener` after every committed change of this epic, from any machine (see subscribeToEpic). */
  subscribe(listener: () => void): Promise<() => Promise<void>> {
    return subscribeToEpic(
      {
        config: this.config,
        epicId: this.epicId,
        where: this.session.where,
        listeners: this.listeners,
        closed: () => this.closed,
        read: () => this.read(),
      },
      listener,
    );
  }

  /**
   * Ends the listeners and the pool: each connection's goodbye, and, for a database that stopped answering
   * (a frozen host: a query in flight, a goodbye never answered), its socket closed after GOODBYE_WAIT_MS,
   * the queries in flight failing as the database not answering. A shutdown never waits on the database.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const goodbyes = Promise.all([
      ...[...this.listeners].map((client) => endWithin(client)),
      this.pool.end(),
    ]);
    if (!(await settledWithin(goodbyes, GOODBYE_WAIT_MS))) {
      for (const client of this.connections) client.closeSocket();
    }
  }
}

/** The pool's client class: a ClosingClient that is in `connections` until its connection ends. */
function trackedIn(connections: Set<ClosingClient>, passwords: Set<string>): typeof ClosingClient {
  return class TrackedClient extends ClosingClient {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      connections.add(this);
      this.once("end", () => connections.delete(this));
    }

    protected override passwordRead(password: string): void {
      passwords.add(password);
    }
  };
}
