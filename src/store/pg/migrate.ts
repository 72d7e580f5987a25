import type pg from "pg";
import { StoreConfigError } from "../../errors.js";
import { explainPgError, MAX_TIMER_MS } from "./config.js";
import { LATEST_VERSION, MIGRATIONS, type Migration, SCHEMA } from "./migrations.js";

/** The advisory lock that serialises migrations across processes and machines (any 64-bit constant). */
export const MIGRATION_LOCK = "7231049915872043001";

export interface SchemaStatus {
  /** The schema version the database has (0: none). */
  version: number;
  /** The version this release expects. */
  latest: number;
  applied: { version: number; name: string; appliedAt: string }[];
}

/** The database's schema version, without changing anything. */
export async function schemaStatus(client: pg.ClientBase): Promise<SchemaStatus> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [
    `${SCHEMA}.schema_migrations`,
  ]);
  if (!exists.rows[0]?.t) return { version: 0, latest: LATEST_VERSION, applied: [] };
  const { rows } = await client.query<{ version: number; name: string; applied_at: Date }>(
    `SELECT version, name, applied_at FROM ${SCHEMA}.schema_migrations ORDER BY version`,
  );
  return {
    version: rows.reduce((max, row) => Math.max(max, row.version), 0),
    latest: LATEST_VERSION,
    applied: rows.map((row) => ({
      version: row.version,
      name: row.name,
      appliedAt: row.applied_at.toISOString(),
    })),
  };
}

/**
 * Brings the schema up to date: under a session advisory lock, so that of many processes meeting an empty
 * database at once one migrates and the others wait, then find nothing left to do. Each migration is one
 * transaction with its row in schema_migrations. Resolves to the versions applied by this call (none when
 * the schema is already at `upTo`, read first, without the lock, and again once the lock is held). `upTo`:
 * stop at that version (the tests make databases of earlier versions so).
 */
export async function migrate(client: pg.ClientBase, upTo = LATEST_VERSION): Promise<number[]> {
  // A schema already at the version is left alone, before the lock and any DDL: CREATE SCHEMA IF NOT
  // EXISTS needs the CREATE privilege on the database even when the schema is there, which a role
  // granted a repository does not have (`db migrate` by it on an up-to-date schema has nothing to do).
  // The same once the lock is held: the process that held it may have migrated meanwhile (the owner's
  // `db migrate`, which a granted role's call waited for).
  if ((await schemaStatus(client)).version >= upTo) return [];
  await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK]);
  try {
    const { version } = await schemaStatus(client);
    if (version >= upTo) return [];
    if (version === 0) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= version || migration.version > upTo) continue;
      for (let attempt = 1; ; attempt++) {
        try {
          await applyMigration(client, migration);
          break;
        } catch (error) {
          // A deadlock against a statement that took its tables in another order than the lock below:
          // the migration was rolled back, whole; the other statement goes on, so this one can again.
          if ((error as { code?: unknown }).code !== DEADLOCK || attempt >= MIGRATION_ATTEMPTS) throw error;
        }
      }
      applied.push(migration.version);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK]).catch(() => undefined);
  }
}

/** PostgreSQL's SQLSTATE for a deadlock, and how many times a migration that met one is tried in all. */
const DEADLOCK = "40P01";
const MIGRATION_ATTEMPTS = 3;

/**
 * The tables a migration locks first, in the order a statement of the store or of plain SQL takes them:
 * the table it names (a run before its agents and events, which a policy looks the run up in), then
 * grants, which the policies read under row-level security. A migration that took grants first (an ALTER
 * of it or of its policy) and then runs would deadlock with a granted role's read of runs, which holds
 * runs and waits for grants.
 */
const LOCK_ORDER = ["runs", "agents", "events", "grants"].map((table) => `${SCHEMA}.${table}`).join(", ");

/** One migration in a transaction of its own, with its row in schema_migrations. */
async function applyMigration(client: pg.ClientBase, migration: Migration): Promise<void> {
  await client.query("BEGIN");
  try {
    // A migration moves the whole history (runs are kept): on a large database it takes longer than
    // a statement's limit, and cut short it would be tried again by every call, never done. Its
    // work is not limited; its wait for the tables' locks is, as long as a statement's was.
    await client.query("SELECT set_config('lock_timeout', current_setting('statement_timeout'), true)");
    await client.query("SET LOCAL statement_timeout = 0");
    // The tables exist from version 1 on: locked at once, in the order readers take them.
    if (migration.version > 1) await client.query(`LOCK TABLE ${LOCK_ORDER} IN ACCESS EXCLUSIVE MODE`);
    // Nor is the client's wait for its answer (query_timeout), as long as a timer goes.
    await client.query({ text: migration.sql, query_timeout: MAX_TIMER_MS } as pg.QueryConfig);
    await client.query(`INSERT INTO ${SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [
      migration.version,
      migration.name,
    ]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/**
 * The advice for a role that lacks a permission while migrating: a role granted a repository may use the
 * schema, not change it (db grant would not help).
 */
const MIGRATE_ADVICE = `this release needs schema version ${LATEST_VERSION}, which this role may not migrate to: run \`parallel-progress db migrate\` as the schema's owner`;

/**
 * migrate(), a failure explained for the database `safe` names: a role that may not migrate is told to
 * have the schema's owner run `db migrate` (MIGRATE_ADVICE). Resolves to the migrations applied and the
 * version the schema had before (newer than this release's: a newer release migrated it, and nothing is
 * applied).
 */
export async function migrateExplained(
  client: pg.ClientBase,
  safe: string,
): Promise<{ applied: number[]; version: number }> {
  // The version first: a role that may not even read it (its USAGE of the schema revoked) needs a grant,
  // not a migration.
  const { version } = await schemaStatus(client).catch((cause: unknown) => {
    throw explainPgError(cause, `${safe} (reading the schema's version)`);
  });
  if (version >= LATEST_VERSION) return { applied: [], version };
  const applied = await migrate(client).catch((cause: unknown) => {
    throw explainPgError(cause, `${safe} (migrating the schema)`, MIGRATE_ADVICE);
  });
  return { applied, version };
}

/**
 * A schema that a newer release migrated (`version`) and that no longer has what this release uses
 * (`cause`: a column or table missing): a newer release's migration that breaks older ones renames what
 * they use, so that they fail so rather than write the old way.
 */
export function newerSchemaError(safe: string, version: number, cause: unknown): StoreConfigError {
  const what = cause instanceof Error ? `: ${cause.message}` : "";
  return new StoreConfigError(
    `${safe}: the schema is at version ${version}, newer than this release knows (${LATEST_VERSION}), and no longer has what this release uses${what}: upgrade parallel-progress on this machine`,
    { cause },
  );
}
