import { randomUUID } from "node:crypto";
import pg from "pg";
import { StoreUnavailableError } from "../../errors.js";
import { applyAbandon } from "../../model/run.js";
import type { RunState } from "../../model/types.js";
import type { RunStore, Transition } from "../types.js";
import { connectionConfig, explainPgError, parseStoreUrl, type StoreUrl } from "./config.js";
import { migrate } from "./migrate.js";
import { LATEST_VERSION, SCHEMA } from "./migrations.js";
import { type AgentRow, changedAgentRows } from "./rows.js";

/**
 * A run's changes are announced (NOTIFY, no payload) on the run's own channel, `runs.channel`: a name no
 * one can guess, readable only by those who may see the run (row-level security). Any role may LISTEN on
 * any channel, so a channel shared by all runs, or a payload, would tell every role of every run.
 */
const CHANNEL_NAME = /^pp_[0-9a-f]{32}$/;

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
   * Tries of a change without a lock (the write checks the run's revision) before it locks the run row.
   * Default 0: measured (bench/pg.ts), concurrent writers of one run waste more on lost tries than the lock
   * costs them; one try saves a lone writer two round trips (BEGIN, COMMIT).
   */
  optimisticAttempts?: number;
}

/** A change's own id, stored with its event; a change replayed with the same id is applied once. */
interface Correlation {
  id: string;
  replay: boolean;
}

/** A replayed change that the run already holds (matched by its correlation id). Checked by name. */
export class AlreadyAppliedError extends Error {
  override name = "AlreadyAppliedError";
  constructor(readonly correlationId: string) {
    super(`change ${correlationId} is already applied`);
  }
}

interface LatestRow {
  now_ms: number;
  version: number | null;
  id: string | null;
  /** The run's notification channel. */
  channel: string | null;
  /** Bumped by every write of the run row: a write made from an older read finds it changed. */
  revision: string | null;
  state: RunState | null;
}

const LATEST = `
SELECT (extract(epoch FROM now()) * 1000)::float8 AS now_ms,
       (SELECT max(version) FROM ${SCHEMA}.schema_migrations) AS version,
       r.id::text AS id, r.channel, r.revision::text AS revision, r.state
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT id, channel, revision, state FROM ${SCHEMA}.runs WHERE epic_id = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE
) AS r ON true`;

const INSERT_RUN = `
INSERT INTO ${SCHEMA}.runs (run_id, epic_id, repo, issue_number, started_at, completed_at, seq, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id, channel`;

const LATEST_UNLOCKED = LATEST.replace("FOR UPDATE", "");

/** The channel of the epic's latest run that this role may see. */
const LATEST_CHANNEL = `SELECT channel FROM ${SCHEMA}.runs WHERE epic_id = $1 ORDER BY id DESC LIMIT 1`;

/** Each domain's median duration over its latest 20 completed agents in earlier runs (visible to the role). */
const PAST_DURATIONS = `
SELECT d.domain, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.ms)::float8 AS ms
FROM unnest($1::text[]) AS d(domain)
CROSS JOIN LATERAL (
  SELECT extract(epoch FROM a.finished_at - a.started_at) * 1000 AS ms
  FROM ${SCHEMA}.agents a
  WHERE a.domain = d.domain AND a.status = 'completed' AND a.started_at IS NOT NULL
    AND a.finished_at IS NOT NULL
  ORDER BY a.finished_at DESC LIMIT 20
) AS p
GROUP BY d.domain`;

/**
 * One statement, committed on its own or inside a locked transaction: the run row (only if no other write
 * came since this change read it: `revision`), the agents it touched, the event, the notification. Nothing
 * is written and no row returned when the revision moved on.
 */
const WRITE = `
WITH run AS (
  UPDATE ${SCHEMA}.runs SET state = $2, seq = $3, completed_at = $4, repo = $5, issue_number = $6,
         updated_at = now(), revision = revision + 1
  WHERE id = $1::bigint AND revision = $13::bigint RETURNING id
), agents AS (
  INSERT INTO ${SCHEMA}.agents AS a (run_id, agent_id, domain, status, files_completed, files_total,
                                     started_at, finished_at, updated_at, summary, error)
  SELECT run.id, r.agent_id, r.domain, r.status, r.files_completed, r.files_total, r.started_at,
         r.finished_at, r.updated_at, r.summary, r.error
  FROM run, jsonb_to_recordset($7::jsonb) AS r(agent_id text, domain text, status text,
       files_completed bigint, files_total bigint, started_at timestamptz, finished_at timestamptz,
       updated_at timestamptz, summary text, error text)
  ON CONFLICT (run_id, agent_id) DO UPDATE SET domain = excluded.domain, status = excluded.status,
    files_completed = excluded.files_completed, files_total = excluded.files_total,
    started_at = excluded.started_at, finished_at = excluded.finished_at, updated_at = excluded.updated_at,
    summary = excluded.summary, error = excluded.error
), event AS (
  INSERT INTO ${SCHEMA}.events (run_id, seq, agent_id, event, correlation_id)
  SELECT run.id, $3, $8, $9, $10 FROM run WHERE $12::boolean
)
SELECT pg_notify($11, '') FROM run`;

/**
 * WRITE's parameters: the run row (at the revision read) becomes `state`, with the agent rows the change
 * touched, an event row when `isEvent`, and a NOTIFY on the run's channel.
 */
function writeParams(
  run: { runRow: string | null; revision: string | null; channel: string | null },
  state: RunState,
  rows: AgentRow[],
  isEvent: boolean,
  correlationId: string,
): unknown[] {
  return [
    run.runRow,
    state,
    state.seq,
    state.completedAt,
    state.github.repo,
    state.github.issueNumber,
    JSON.stringify(rows),
    rows.length === 1 ? rows[0]!.agent_id : null,
    state.event,
    correlationId,
    run.channel,
    isEvent,
    run.revision,
  ];
}

/** A write that found the run changed since its read: read again. */
const CONFLICT: unique symbol = Symbol("conflict");
/** A change that starts a run: done in a locked transaction (there is no row to compare yet). */
const NEEDS_LOCK: unique symbol = Symbol("needs lock");
type Attempt<T> = { result: T; wrote: boolean } | typeof CONFLICT | typeof NEEDS_LOCK;

/**
 * The run state in PostgreSQL, shared by every machine that reaches the database. A change reads the epic's
 * latest run with the database's `now()`, runs, and writes the new state, the agents it touched, an event
 * row (the run's next sequence number, a correlation id) and a NOTIFY in one statement, inside a
 * transaction that locks the run row (`FOR UPDATE`); a new run is made under a per-epic advisory lock.
 * (Optionally a change first tries without the lock, its write checking the run's `revision`: see
 * `optimisticAttempts`.)
 */
export class PgRunStore implements RunStore {
  readonly location: string;
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
    this.location = `${this.where.safe} (epic ${JSON.stringify(options.epicId)})`;
    this.config = connectionConfig(this.where.url, options);
    // Idle pooled connections do not keep the process alive (allowExitOnIdle): a short call ends when done.
    this.pool = new pg.Pool({
      ...this.config,
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
      const row = await this.latest(client, false);
      return row.state;
    });
  }

  async transact<T>(given: (current: RunState | null, now: number) => Transition<T>): Promise<T> {
    const correlation = this.correlation;
    // What the change itself throws (a refused change) is the application's: the connection is healthy.
    const change = (current: RunState | null, now: number): Transition<T> => {
      try {
        return given(current, now);
      } catch (error) {
        if (typeof error === "object" && error !== null) notFromDatabase.add(error);
        throw error;
      }
    };
    try {
      const { result, wrote } = await this.withClient(async (client) => {
        for (let attempt = 0; attempt < (this.options.optimisticAttempts ?? 0); attempt++) {
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
   * One try of a change: optimistic (`locked` false: no transaction, the write checks the revision) or in a
   * transaction that locks the run row. A locked try sends BEGIN with its read and COMMIT with its write,
   * each pair in one round trip (the pool's connections pipeline), so the lock is held for one round trip.
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
    let transition = change(row.state, row.now_ms);
    let next = transition.next;
    const unchanged = async () => {
      if (locked) await client.query("COMMIT");
      return { result: transition.result, wrote: false };
    };
    if (next === undefined) return unchanged();
    let runRow = row.id;
    let channel = row.channel;
    let revision = row.revision;
    if (row.state === null || next.runId !== row.state.runId) {
      if (!locked) return NEEDS_LOCK;
      // A new run: one at a time per epic (there is no row to lock yet), then with the freshest latest run.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`run:${this.epicId}`]);
      const fresh = await this.latest(client, true);
      if (fresh.id !== row.id) {
        row = fresh;
        transition = change(row.state, row.now_ms);
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
          next,
        ]);
        runRow = inserted.rows[0]!.id;
        channel = inserted.rows[0]!.channel;
        revision = "0";
        row = { ...row, state: null };
      } else {
        runRow = row.id;
        channel = row.channel;
        revision = row.revision;
      }
    }
    const rows = changedAgentRows(row.state, next);
    // A change of the run (a new sequence number) is an event; sync bookkeeping (lease, posted seq) is not.
    const isEvent = row.state === null || next.seq !== row.state.seq;
    let written: pg.QueryResult;
    try {
      const values = writeParams(
        { runRow, revision, channel },
        next,
        rows,
        isEvent,
        (isEvent && correlation?.id) || randomUUID(),
      );
      const write = client.query(this.statement("pp_write", WRITE, values));
      // A failed write aborts the transaction: the COMMIT behind it then ends it as a rollback.
      [written] = await Promise.all([write, locked ? client.query("COMMIT") : null]);
    } catch (error) {
      // A replayed change that another process applied between this read and this write.
      const code = (error as { code?: unknown }).code;
      if (code === "23505" && correlation?.replay && !locked) throw new AlreadyAppliedError(correlation.id);
      throw error;
    }
    if (written.rowCount === 0) return CONFLICT;
    return { result: transition.result, wrote: isEvent };
  }

  /**
   * The epic's latest run is replaced by a new one: closed as abandoned if it was still open (`init
   * --force`: history shows it so), and its listeners told either way, so that they follow the new run.
   */
  private async replaced(client: pg.PoolClient, old: LatestRow): Promise<void> {
    const state = old.state!;
    await client.query("SELECT pg_notify($1, 'replaced')", [old.channel]);
    if (state.completedAt !== null) return;
    const closed = applyAbandon(state, old.now_ms);
    const where = { runRow: old.id, revision: old.revision, channel: old.channel };
    await client.query(this.statement("pp_write", WRITE, writeParams(where, closed, [], true, randomUUID())));
  }

  /** A new run learns how long its domains took in earlier runs (for the ETA): the median of the latest 20. */
  private async withPastDurations(client: pg.PoolClient, run: RunState): Promise<RunState> {
    const domains = Object.values(run.agents).map((agent) => agent.domain);
    const { rows } = await client.query<{ domain: string; ms: number }>(PAST_DURATIONS, [domains]);
    if (rows.length === 0) return run;
    return { ...run, pastDurations: Object.fromEntries(rows.map((row) => [row.domain, Math.round(row.ms)])) };
  }

  private async applied(client: pg.PoolClient, correlationId: string): Promise<boolean> {
    const { rows } = await client.query(
      `SELECT 1 FROM ${SCHEMA}.events e JOIN ${SCHEMA}.runs r ON r.id = e.run_id
       WHERE r.epic_id = $1 AND e.correlation_id = $2 LIMIT 1`,
      [this.epicId, correlationId],
    );
    return rows.length > 0;
  }

  /** The epic's latest run (locked when `lock`), the database's clock, and the schema version. */
  private async latest(client: pg.ClientBase, lock: boolean): Promise<LatestRow> {
    const text = lock ? LATEST : LATEST_UNLOCKED;
    const name = lock ? "pp_latest_locked" : "pp_latest";
    const { rows } = await client.query<LatestRow>(this.statement(name, text, [this.epicId]));
    const row = rows[0]!;
    if ((row.version ?? 0) < LATEST_VERSION && !this.schemaChecked) throw new SchemaBehind();
    this.schemaChecked = true;
    return row;
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
            throw explainPgError(cause, `${this.where.safe} (migrating the schema)`);
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

  /**
   * Calls `listener` after every committed change of this epic, from any machine: LISTEN, on a connection of
   * its own, on the channel of the epic's latest run that this role may see. When a new run replaces it, the
   * old run's channel says so (payload `replaced`) and the subscription moves to the new run's. While the
   * role sees no run of the epic, it looks for one every half second. A dropped connection is re-established
   * and the listener called once (a change may have been missed meanwhile).
   */
  async subscribe(listener: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | null = null;
    let stopped = false;
    let reconnecting = false;
    let looking: NodeJS.Timeout | null = null;
    const over = () => stopped || this.closed;
    const stopLooking = () => {
      if (looking) clearInterval(looking);
      looking = null;
    };
    const connect = async (): Promise<void> => {
      const next = new pg.Client(this.config);
      let live = false;
      /** The channel LISTENed on (null: no run visible yet). */
      let listening: string | null = null;
      let following: Promise<boolean> = Promise.resolve(false);
      /** LISTEN on the latest run's channel, if it is not the one listened on; true when it changed. */
      const follow = () => {
        following = following.then(async () => {
          const channel = await latestChannel(next, this.epicId);
          if (channel === listening) return false;
          if (channel) await next.query(`LISTEN ${channel}`);
          if (listening) await next.query(`UNLISTEN ${listening}`);
          listening = channel;
          if (channel) stopLooking();
          return true;
        });
        return following;
      };
      next.on("notification", (message) => {
        if (message.channel !== listening) return;
        listener();
        if (message.payload !== "replaced") return;
        follow().then(
          (moved) => moved && !over() && listener(),
          ignore, // the connection went away: its end reconnects
        );
      });
      next.on("error", ignore);
      // Only the live connection's end starts a reconnection (one at a time): a failed attempt's does not.
      next.on("end", () => {
        this.listeners.delete(next);
        if (live && client === next) {
          client = null;
          stopLooking();
          if (!over()) void reconnect();
        }
      });
      try {
        await next.connect();
        await follow();
      } catch (error) {
        await endQuietly(next);
        throw error;
      }
      if (over()) {
        await endQuietly(next);
        return;
      }
      live = true;
      client = next;
      this.listeners.add(next);
      if (listening === null) {
        looking = setInterval(() => {
          follow().then((found) => found && !over() && listener(), ignore);
        }, 500);
        looking.unref();
      }
    };
    const reconnect = async (): Promise<void> => {
      if (reconnecting) return;
      reconnecting = true;
      try {
        for (let attempt = 0; attempt < 600 && !over(); attempt++) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))),
          );
          if (over()) return;
          try {
            await connect();
            if (!over()) listener(); // a change may have been missed meanwhile
            return;
          } catch {
            // Still down: try again.
          }
        }
      } finally {
        reconnecting = false;
      }
    };
    try {
      await this.read(); // the schema, migrated if this is the database's first use
      await connect();
    } catch (error) {
      throw explainPgError(error, this.where.safe);
    }
    return async () => {
      stopped = true;
      stopLooking();
      const current = client;
      client = null;
      if (current) {
        this.listeners.delete(current);
        await endQuietly(current);
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map(endQuietly));
    await this.pool.end().catch(() => undefined);
  }
}

const ignore = () => undefined;

/** The channel of the epic's latest run that the connection's role may see, or null. */
async function latestChannel(client: pg.Client, epicId: string): Promise<string | null> {
  const { rows } = await client.query<{ channel: string }>(LATEST_CHANNEL, [epicId]);
  const channel = rows[0]?.channel ?? null;
  // Our own format, checked before it becomes part of a statement (LISTEN takes no parameters).
  return channel !== null && CHANNEL_NAME.test(channel) ? channel : null;
}

/** Ends a client whatever its state (a failed connection's end may never settle: bounded). */
async function endQuietly(client: pg.Client): Promise<void> {
  await Promise.race([
    client.end().catch(ignore),
    new Promise((resolve) => setTimeout(resolve, 1000).unref()),
  ]);
}

/** The schema is older than this release: migrate, then try again. */
class SchemaBehind extends Error {}

/** A bug: a write under the run row's lock found the row changed. */
class LostRowError extends Error {
  override name = "LostRowError";
  constructor() {
    super("a locked write lost its row");
  }
}

/** Errors a change threw itself (refused: an unknown agent, a finalized run...), not the database's. */
const notFromDatabase = new WeakSet<object>();

/** Not the database's error: the application's, on a healthy connection; never reclassified. */
function isOurs(error: unknown): boolean {
  return (
    (typeof error === "object" && error !== null && notFromDatabase.has(error)) ||
    error instanceof AlreadyAppliedError ||
    error instanceof SchemaBehind ||
    error instanceof LostRowError
  );
}

/**
 * The schema, a table or a column is missing: the database has no schema or an older one (or another process
 * is migrating it right now, between two migrations): migrate (under the lock), then try again.
 */
function isMissingSchema(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "3F000" || code === "42P01" || code === "42703";
}

/** A named statement the server does not have (26000), or has already (42P05): a transaction pooler. */
function isLostStatement(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "26000" || code === "42P05";
}

/**
 * A connection that failed mid-query (a socket error or pg's own connection error: no SQLSTATE; or a
 * connection-class SQLSTATE) is not given back to the pool. Called for the database's errors only.
 */

function isBroken(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith("08") || code.startsWith("57P");
}
