import { randomUUID } from "node:crypto";
import pg from "pg";
import { StoreUnavailableError } from "../../errors.js";
import { applyAbandon } from "../../model/run.js";
import type { AgentState, RunState } from "../../model/types.js";
import type { RunStore, Transition } from "../types.js";
import { ClosingClient } from "./client.js";
import {
  connectionConfig,
  databasePlace,
  explainPgError,
  MIGRATE_ADVICE,
  parseStoreUrl,
  type StoreUrl,
} from "./config.js";
import { migrate } from "./migrate.js";
import { LATEST_VERSION } from "./migrations.js";
import {
  AlreadyAppliedError,
  isBroken,
  isConflict,
  isLostStatement,
  isMissingSchema,
  isOurs,
  LostRowError,
  markOurs,
  SchemaBehind,
} from "./pg-errors.js";
import { changedAgentRows, runLevel } from "./rows.js";
import { APPLIED, INSERT_RUN, LATEST, LOCK_LATEST, PAST_DURATIONS, WRITE } from "./statements.js";
import { endQuietly, subscribeToEpic } from "./subscription.js";

export { AlreadyAppliedError } from "./pg-errors.js";

export interface PgStoreOptions {
  /** `postgres://` / `postgresql://` URL (libpq parameters such as sslmode included). */
  url: string;
  /** The run is the latest run of this epic. */
  epicId: string;
  /** Connections kept by the pool: 1 for a short CLI call, more for the library and long-lived commands. */
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

/** A change's own id, stored with its event; a change replayed with the same id is applied once. */
interface Correlation {
  id: string;
  replay: boolean;
}

interface LatestRow {
  now_ms: number;
  version: number | null;
  id: string | null;
  /** The run's notification channel. */
  channel: string | null;
  /** Bumped by every write of the run: a change of the run-level fields checks it. */
  revision: string | null;
  /** Bumped by every write of the run-level fields: a change of agents alone checks it. */
  run_version: string | null;
  seq: number | null;
  event: string | null;
  /** The run-level fields (no agents, seq, event). */
  run_state: Omit<RunState, "agents" | "seq" | "event"> | null;
  /** Each agent row: [agent id, version, state] (json_agg: no jsonb object built for the read). */
  agents: [string, number, AgentState][] | null;
}

/** The run that a read found (null: none), with what a change checks when it writes. */
interface Latest {
  now: number;
  id: string | null;
  channel: string | null;
  revision: string | null;
  runVersion: string | null;
  versions: Record<string, number>;
  state: RunState | null;
}

/** The run row a write is checked against: its id, and the revision and run-level version read. */
type RunRow = Pick<Latest, "id" | "revision" | "runVersion">;

/**
 * A run's rows as one RunState, and each agent row's version. (The agents' order is the read's, by id:
 * every view lists them in tree order, by domain.)
 */
function assemble(row: LatestRow): { state: RunState | null; versions: Record<string, number> } {
  if (row.run_state === null) return { state: null, versions: {} };
  const agents: Record<string, AgentState> = {};
  const versions: Record<string, number> = {};
  for (const [id, version, agent] of row.agents ?? []) {
    agents[id] = agent;
    versions[id] = version;
  }
  const state = { ...row.run_state, seq: row.seq!, event: row.event!, agents } as RunState;
  return { state, versions };
}

/**
 * A locked read follows the epic's newest run when an `init` made one between the lock and the read; after
 * this many in a row, the change is left for later (kept on the machine's disk) rather than chasing them.
 */
export const LOCKED_READ_TRIES = 5;

/**
 * WRITE's parameters: the change from `before` (as read, at `run`'s revision and versions) to `next`. A
 * change of the run-level fields checks the run's revision (no write since the read), a change of agents
 * alone only the run's run-level version and each touched agent's version. `before` null: a run just
 * inserted (its run-level fields are written already).
 */
function writeParams(
  run: RunRow,
  before: RunState | null,
  next: RunState,
  versions: Readonly<Record<string, number>>,
  correlationId: string | null,
): { values: unknown[]; isEvent: boolean; empty: boolean } {
  const rows = changedAgentRows(before, next, versions);
  // A change of the run (a new sequence number) is an event; sync bookkeeping (lease, posted seq) is not.
  const isEvent = before === null || next.seq !== before.seq;
  const ownFields = runLevel(next);
  const runChanged = before !== null && JSON.stringify(runLevel(before)) !== JSON.stringify(ownFields);
  const eventChanged = before !== null && next.event !== before.event;
  return {
    isEvent,
    empty: before !== null && !runChanged && !eventChanged && !isEvent && rows.length === 0,
    values: [
      run.id,
      before === null || runChanged ? run.revision : null,
      before === null || runChanged ? null : run.runVersion,
      runChanged ? ownFields : null,
      before === null ? 0 : next.seq - before.seq,
      next.event,
      eventChanged,
      JSON.stringify(rows),
      isEvent,
      rows.length === 1 ? rows[0]!.agent_id : null,
      (isEvent && correlationId) || randomUUID(),
    ],
  };
}

/** Tries without a lock before the locked one (see PgStoreOptions.optimisticAttempts). */
const DEFAULT_OPTIMISTIC_ATTEMPTS = 5;

/** A write that found the run changed since its read: read again. */
const CONFLICT: unique symbol = Symbol("conflict");
/** A change that starts a run: done in a locked transaction (there is no row to compare yet). */
const NEEDS_LOCK: unique symbol = Symbol("needs lock");
type Attempt<T> = { result: T; wrote: boolean } | typeof CONFLICT | typeof NEEDS_LOCK;

/**
 * The run state in PostgreSQL, shared by every machine that reaches the database. A change reads the epic's
 * latest run (its run row and agent rows) with the database's `now()`, runs, and writes what it changed in
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
  private readonly where: StoreUrl;
  private readonly pool: pg.Pool;
  private readonly config: pg.ClientConfig;
  private readonly listeners = new Set<pg.Client>();
  private schemaChecked = false;
  private correlation: Correlation | null = null;
  private closed = false;
  /**
   * The hot statements (the latest run, the write) are named, so that a long-lived connection (the
   * library's pool, the background writer, `serve`, `watch`) parses and plans each once rather than on
   * every change (measured: a third of the server's CPU per change). A pooler that does not keep a
   * session's statements (transaction pooling) loses them: the store then goes on unnamed.
   */
  private named = true;

  constructor(private readonly options: PgStoreOptions) {
    this.where = parseStoreUrl(options.url);
    ({ location: this.location, database: this.database } = databasePlace(this.where.safe, options.epicId));
    this.config = connectionConfig(this.where, options);
    // Idle pooled connections do not keep the process alive (allowExitOnIdle): a short call ends when done.
    this.pool = new pg.Pool({
      ...this.config,
      Client: ClosingClient,
      pipeline: true,
      max: options.maxConnections ?? 10,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
    });
    // An idle connection that the server drops (restart) must not crash the process: the next query reconnects.
    this.pool.on("error", () => undefined);
  }

  get epicId(): string {
    return this.options.epicId;
  }

  async read(): Promise<RunState | null> {
    return this.withClient(async (client) => {
      return (await this.latest(client, false)).state;
    });
  }

  async transact<T>(given: (current: RunState | null, now: number) => Transition<T>): Promise<T> {
    const correlation = this.correlation;
    // What the change itself throws (a refused change) is the application's: the connection is healthy.
    const change = (current: RunState | null, now: number): Transition<T> => {
      try {
        return given(current, now);
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
          const outcome = await this.attempt(client, change, correlation, false);
          if (outcome === NEEDS_LOCK) break;
          if (outcome !== CONFLICT) return outcome;
        }
        try {
          const outcome = await this.attempt(client, change, correlation, true);
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
   * One try of a change: without a lock (`locked` false: one read, then one autocommit statement that
   * checks what the change read, see WRITE), or in a transaction that locks the run row (a new run;
   * a change that lost its optimistic tries). A locked try sends BEGIN with its read and COMMIT with its
   * write, each pair in one round trip (the pool's connections pipeline).
   */
  private async attempt<T>(
    client: pg.PoolClient,
    change: (current: RunState | null, now: number) => Transition<T>,
    correlation: Correlation | null,
    locked: boolean,
  ): Promise<Attempt<T>> {
    let row = locked
      ? (await Promise.all([client.query("BEGIN"), this.latest(client, true)]))[1]
      : await this.latest(client, false);
    if (correlation?.replay && row.id !== null && (await this.applied(client, correlation.id)))
      throw new AlreadyAppliedError(correlation.id);
    let transition = change(row.state, row.now);
    let next = transition.next;
    const unchanged = async () => {
      if (locked) await client.query("COMMIT");
      return { result: transition.result, wrote: false };
    };
    if (next === undefined) return unchanged();
    // Agents added to the run (add) learn their domains' durations in earlier runs too, as a new run's do.
    if (row.state !== null && next.runId === row.state.runId && addsAgents(row.state, next))
      next = await this.withPastDurations(client, next);
    let where: RunRow = row;
    let before = row.state;
    if (row.state === null || next.runId !== row.state.runId) {
      if (!locked) return NEEDS_LOCK;
      // A new run: one at a time per epic (there is no row to lock yet), then with the freshest latest run.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`run:${this.epicId}`]);
      const fresh = await this.latest(client, true);
      if (fresh.id !== row.id) {
        row = fresh;
        before = row.state;
        where = row;
        transition = change(row.state, row.now);
        next = transition.next;
        if (next === undefined) return unchanged();
      }
      if (row.state === null || next.runId !== row.state.runId) {
        if (row.state !== null) await this.replaced(client, row);
        next = await this.withPastDurations(client, next);
        const inserted = await client.query<{ id: string; channel: string }>(INSERT_RUN, [
          next.runId,
          this.epicId,
          next.github.repo,
          next.github.issueNumber,
          next.startedAt,
          next.completedAt,
          next.seq,
          next.event,
          runLevel(next),
        ]);
        where = { id: inserted.rows[0]!.id, revision: "0", runVersion: "0" };
        before = null;
      }
    }
    const { values, isEvent, empty } = writeParams(
      where,
      before,
      next,
      row.versions,
      correlation?.id ?? null,
    );
    if (empty) return unchanged();
    let written: pg.QueryResult;
    try {
      const write = client.query(this.statement("pp_write", WRITE, values));
      // A failed write aborts the transaction: the COMMIT behind it then ends it as a rollback.
      [written] = await Promise.all([write, locked ? client.query("COMMIT") : null]);
    } catch (error) {
      const conflict = isConflict(error);
      if (conflict && !locked) return CONFLICT;
      // A replayed change that another process applied between this read and this write.
      const code = (error as { code?: unknown }).code;
      if (code === "23505" && correlation?.replay && !locked) throw new AlreadyAppliedError(correlation.id);
      if (conflict) throw new LostRowError();
      throw error;
    }
    if (written.rowCount === 0) {
      if (locked) throw new LostRowError();
      return CONFLICT;
    }
    return { result: transition.result, wrote: isEvent };
  }

  /**
   * The epic's latest run is replaced by a new one: closed as abandoned if it was still open (`init
   * --force`: history shows it so), and its listeners told either way, so that they follow the new run.
   */
  private async replaced(client: pg.PoolClient, old: Latest): Promise<void> {
    const state = old.state!;
    await client.query("SELECT pg_notify($1, 'replaced')", [old.channel]);
    if (state.completedAt !== null) return;
    const closed = applyAbandon(state, old.now);
    const { values } = writeParams(old, state, closed, old.versions, null);
    const written = await client.query(this.statement("pp_write", WRITE, values));
    if (written.rowCount === 0) throw new LostRowError();
  }

  /** A new run learns how long its domains took in earlier runs (for the ETA): the median of the latest 20. */
  private async withPastDurations(client: pg.PoolClient, run: RunState): Promise<RunState> {
    const domains = Object.values(run.agents).map((agent) => agent.domain);
    const { rows } = await client.query<{ domain: string; ms: number }>(PAST_DURATIONS, [domains]);
    if (rows.length === 0) return run;
    return { ...run, pastDurations: Object.fromEntries(rows.map((row) => [row.domain, Math.round(row.ms)])) };
  }

  /** The epic's runs hold a change with this correlation id. */
  private async applied(client: pg.PoolClient, correlationId: string): Promise<boolean> {
    const { rows } = await client.query(APPLIED, [this.epicId, correlationId]);
    return rows.length > 0;
  }

  /** The epic's latest run (its row locked when `lock`), the database's clock, and the schema version. */
  private async latest(client: pg.ClientBase, lock: boolean): Promise<Latest> {
    for (let tries = 1; ; tries++) {
      // Sent in this order, in one round trip: the lock, then the read.
      const locking = lock
        ? client.query<{ id: string }>(this.statement("pp_lock", LOCK_LATEST, [this.epicId]))
        : null;
      const [locked, { rows }] = await Promise.all([
        locking,
        client.query<LatestRow>(this.statement("pp_latest", LATEST, [this.epicId])),
      ]);
      const row = rows[0]!;
      if ((row.version ?? 0) < LATEST_VERSION && !this.schemaChecked) throw new SchemaBehind();
      this.schemaChecked = true;
      // A new run came between the lock and the read (made under the epic's advisory lock): lock that one.
      if (locked && (locked.rows[0]?.id ?? null) !== row.id) {
        if (tries < LOCKED_READ_TRIES) continue;
        throw new StoreUnavailableError(
          `${this.where.safe}: epic ${JSON.stringify(this.epicId)} got ${tries} new runs while a change locked its latest run`,
        );
      }
      return {
        now: row.now_ms,
        id: row.id,
        channel: row.channel,
        revision: row.revision,
        runVersion: row.run_version,
        ...assemble(row),
      };
    }
  }

  /** A statement named (see `named`) or not. */
  private statement(name: string, text: string, values: unknown[]): pg.QueryConfig {
    return this.named ? { name, text, values } : { text, values };
  }

  /**
   * Runs `work` on a pooled connection; a schema that is missing or older than this release is migrated
   * first (once), and errors become ours (configuration: UsageError; not answering: StoreUnavailableError).
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(`${this.where.safe}: the store is closed`);
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient | null = null;
      try {
        client = await this.pool.connect();
        // A checked-out client has no error listener (the pool's is for idle ones): a server that goes away
        // between two queries would crash the process. The failed query reports it instead.
        client.on("error", ignore);
        return await work(client);
      } catch (error) {
        if (this.named && isLostStatement(error)) {
          // Nothing was written (the statement did not run): the work is done again, unnamed.
          this.named = false;
          attempt--;
          continue;
        }
        const missing = error instanceof SchemaBehind || isMissingSchema(error);
        if (missing && attempt === 0 && client) {
          await migrate(client).catch((cause: unknown) => {
            throw explainPgError(
              cause,
              `${this.where.safe} (migrating the schema)`,
              MIGRATE_ADVICE(LATEST_VERSION),
            );
          });
          continue;
        }
        const ours = isOurs(error);
        if (client) {
          client.removeListener("error", ignore);
          client.release(!ours && isBroken(error) ? true : undefined);
          client = null;
        }
        if (ours) throw error;
        throw explainPgError(error, this.where.safe);
      } finally {
        client?.removeListener("error", ignore);
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
        where: this.where.safe,
        listeners: this.listeners,
        closed: () => this.closed,
        read: () => this.read(),
      },
      listener,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map(endQuietly));
    await this.pool.end().catch(() => undefined);
  }
}

const ignore = () => undefined;

/** The change adds agents to the run. */
const addsAgents = (before: RunState, next: RunState): boolean =>
  Object.keys(next.agents).some((id) => !(id in before.agents));
