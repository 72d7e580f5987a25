import { randomUUID } from "node:crypto";
import pg from "pg";
import { StoreUnavailableError } from "../../errors.js";
import type { RunState } from "../../model/types.js";
import type { RunStore, Transition } from "../types.js";
import { explainPgError, parseStoreUrl, type StoreUrl } from "./config.js";
import { migrate } from "./migrate.js";
import { LATEST_VERSION, SCHEMA } from "./migrations.js";
import { changedAgentRows } from "./rows.js";

/** The channel every change is announced on; the payload names the epic, the run and the sequence number. */
export const CHANNEL = "parallel_progress";

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
  state: RunState | null;
}

const LATEST = `
SELECT (extract(epoch FROM now()) * 1000)::float8 AS now_ms,
       (SELECT max(version) FROM ${SCHEMA}.schema_migrations) AS version,
       r.id::text AS id, r.state
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT id, state FROM ${SCHEMA}.runs WHERE epic_id = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE
) AS r ON true`;

const INSERT_RUN = `
INSERT INTO ${SCHEMA}.runs (run_id, epic_id, repo, issue_number, started_at, completed_at, seq, state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id`;

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

/** One statement for the rest of a change: the run row, the changed agents, the event, the notification. */
const WRITE = `
WITH run AS (
  UPDATE ${SCHEMA}.runs SET state = $2, seq = $3, completed_at = $4, repo = $5, issue_number = $6,
         updated_at = now()
  WHERE id = $1::bigint RETURNING id
), agents AS (
  INSERT INTO ${SCHEMA}.agents AS a (run_id, agent_id, domain, status, files_completed, files_total,
                                     started_at, finished_at, updated_at, summary, error)
  SELECT $1::bigint, r.agent_id, r.domain, r.status, r.files_completed, r.files_total, r.started_at,
         r.finished_at, r.updated_at, r.summary, r.error
  FROM jsonb_to_recordset($7::jsonb) AS r(agent_id text, domain text, status text, files_completed bigint,
       files_total bigint, started_at timestamptz, finished_at timestamptz, updated_at timestamptz,
       summary text, error text)
  ON CONFLICT (run_id, agent_id) DO UPDATE SET domain = excluded.domain, status = excluded.status,
    files_completed = excluded.files_completed, files_total = excluded.files_total,
    started_at = excluded.started_at, finished_at = excluded.finished_at, updated_at = excluded.updated_at,
    summary = excluded.summary, error = excluded.error
), event AS (
  INSERT INTO ${SCHEMA}.events (run_id, seq, agent_id, event, correlation_id)
  SELECT $1::bigint, $3, $8, $9, $10 WHERE $12::boolean
)
SELECT pg_notify('${CHANNEL}', $11)`;

/**
 * The run state in PostgreSQL, shared by every machine that reaches the database. A change is one
 * transaction: the epic's latest run row is locked (`FOR UPDATE`), the change runs with it and the
 * database's `now()`, and the new state, the agents it touched, an event row (with the run's next sequence
 * number and a correlation id) and a NOTIFY are written in one statement before COMMIT.
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

  constructor(private readonly options: PgStoreOptions) {
    this.where = parseStoreUrl(options.url);
    this.location = `${this.where.safe} (epic ${JSON.stringify(options.epicId)})`;
    this.config = {
      connectionString: this.where.url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      application_name: "parallel-progress",
    };
    // Idle pooled connections do not keep the process alive (allowExitOnIdle): a short call ends when done.
    this.pool = new pg.Pool({
      ...this.config,
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

  async transact<T>(change: (current: RunState | null, now: number) => Transition<T>): Promise<T> {
    const correlation = this.correlation;
    return this.withClient(async (client) => {
      await client.query("BEGIN");
      try {
        const { result, wrote } = await this.inTransaction(client, change, correlation);
        await client.query("COMMIT");
        if (wrote && this.correlation === correlation) this.correlation = null;
        return result;
      } catch (error) {
        if (this.correlation === correlation) this.correlation = null;
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    });
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

  private async inTransaction<T>(
    client: pg.PoolClient,
    change: (current: RunState | null, now: number) => Transition<T>,
    correlation: Correlation | null,
  ): Promise<{ result: T; wrote: boolean }> {
    let row = await this.latest(client, true);
    if (correlation?.replay && row.id !== null && (await this.applied(client, correlation.id)))
      throw new AlreadyAppliedError(correlation.id);
    let transition = change(row.state, row.now_ms);
    let next = transition.next;
    if (next === undefined) return { result: transition.result, wrote: false };
    let runRow = row.id;
    if (row.state === null || next.runId !== row.state.runId) {
      // A new run: one at a time per epic (there is no row to lock yet), then with the freshest latest run.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`run:${this.epicId}`]);
      const fresh = await this.latest(client, true);
      if (fresh.id !== row.id) {
        row = fresh;
        transition = change(row.state, row.now_ms);
        next = transition.next;
        if (next === undefined) return { result: transition.result, wrote: false };
      }
      if (row.state === null || next.runId !== row.state.runId) {
        next = await this.withPastDurations(client, next);
        const inserted = await client.query<{ id: string }>(INSERT_RUN, [
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
        row = { ...row, state: null };
      } else runRow = row.id;
    }
    const rows = changedAgentRows(row.state, next);
    // A change of the run (a new sequence number) is an event; sync bookkeeping (lease, posted seq) is not.
    const isEvent = row.state === null || next.seq !== row.state.seq;
    await client.query(WRITE, [
      runRow,
      next,
      next.seq,
      next.completedAt,
      next.github.repo,
      next.github.issueNumber,
      JSON.stringify(rows),
      rows.length === 1 ? rows[0]!.agent_id : null,
      next.event,
      (isEvent && correlation?.id) || randomUUID(),
      JSON.stringify({ epic: this.epicId, runId: next.runId, seq: next.seq }),
      isEvent,
    ]);
    return { result: transition.result, wrote: isEvent };
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
    const text = lock ? LATEST : LATEST.replace("FOR UPDATE", "");
    const { rows } = await client.query<LatestRow>(text, [this.epicId]);
    const row = rows[0]!;
    if ((row.version ?? 0) < LATEST_VERSION && !this.schemaChecked) throw new SchemaBehind();
    this.schemaChecked = true;
    return row;
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
        return await work(client);
      } catch (error) {
        const missing = error instanceof SchemaBehind || isMissingSchema(error);
        if (missing && attempt === 0 && client) {
          await migrate(client).catch((cause: unknown) => {
            throw explainPgError(cause, `${this.where.safe} (migrating the schema)`);
          });
          continue;
        }
        if (client) {
          client.release(isBroken(error) ? true : undefined);
          client = null;
        }
        throw explainPgError(error, this.where.safe);
      } finally {
        client?.release();
      }
    }
  }

  /**
   * Calls `listener` after every committed change of this epic, from any machine (LISTEN on a connection
   * of its own). A dropped connection is re-established and the listener called once (a change may have
   * been missed meanwhile).
   */
  async subscribe(listener: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | null = null;
    let stopped = false;
    const connect = async (): Promise<void> => {
      const next = new pg.Client(this.config);
      next.on("notification", (message) => {
        if (message.channel !== CHANNEL || !message.payload) return;
        try {
          if ((JSON.parse(message.payload) as { epic?: string }).epic === this.epicId) listener();
        } catch {
          // Not ours: another writer on the same channel.
        }
      });
      next.on("error", () => undefined);
      next.on("end", () => {
        this.listeners.delete(next);
        if (!stopped && !this.closed) void reconnect();
      });
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      client = next;
      this.listeners.add(next);
    };
    const reconnect = async (): Promise<void> => {
      for (let attempt = 0; attempt < 600 && !stopped && !this.closed; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** Math.min(attempt, 5))));
        if (stopped || this.closed) return;
        try {
          await connect();
          listener();
          return;
        } catch {
          // Still down: try again.
        }
      }
    };
    try {
      await connect();
    } catch (error) {
      throw explainPgError(error, this.where.safe);
    }
    return async () => {
      stopped = true;
      const current = client as pg.Client | null;
      if (current) {
        this.listeners.delete(current);
        await current.end().catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map((client) => client.end().catch(() => undefined)));
    await this.pool.end().catch(() => undefined);
  }

  /** Runs `work` with a connection of the pool (for `db` commands and history). */
  async withConnection<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(work);
  }
}

/** The schema is older than this release: migrate, then try again. */
class SchemaBehind extends Error {}

function isMissingSchema(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "3F000" || code === "42P01";
}

/** A connection that failed mid-query (no SQLSTATE, or a connection-class one) is not given back to the pool. */
function isBroken(error: unknown): boolean {
  if (error instanceof SchemaBehind) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith("08") || code.startsWith("57P");
}
