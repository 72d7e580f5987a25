import type pg from "pg";
import { isRepoSlug } from "../../config/repo-slug.js";
import { quote } from "../../config/show-value.js";
import { UsageError } from "../../errors.js";
import { holdsSecret, maskSecrets } from "../../github/redact.js";
import { ClosingClient } from "./client.js";
import { connectionConfig, explainPgError, parseStoreUrl } from "./config.js";
import { MIGRATION_LOCK, migrate, migrateExplained, type SchemaStatus, schemaStatus } from "./migrate.js";
import { LATEST_VERSION, SCHEMA } from "./migrations.js";

/** The operators' side of the database store: migrations, their status, and row-level-security grants. */

/** The passwords the password file (~/.pgpass) gave this process's connections: secrets no URL holds. */
const passwords = new Set<string>();

/** What passwordsRead() lists: for the CLI's messages, which mask them (the db commands are its own). */
export const passwordsRead = (): readonly string[] => [...passwords];

/** A connection that tells `passwords` the password the password file gave it. */
class AdminClient extends ClosingClient {
  protected override passwordRead(password: string): void {
    passwords.add(password);
  }
}

/** Runs `work` on one connection to the database at `url`; errors become ours (no password in them). */
export async function withDatabase<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const where = parseStoreUrl(url);
  const { safe } = where;
  let client: ClosingClient | null = null;
  try {
    // In the try: the client reads the files the URL names (sslrootcert...) as it is made.
    client = new AdminClient(connectionConfig(where));
    await client.connect();
    return await work(client);
  } catch (error) {
    throw explainPgError(error, safe);
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** A grant of a role dropped since, removed by a `db` command (removeDroppedGrants). */
export interface DroppedGrant {
  /** The name it was granted under. */
  role: string;
  repo: string;
}

/** Told of the grants of dropped roles a `db` command removed (none: not called). */
export type OnDroppedGrants = (removed: DroppedGrant[]) => void;

/**
 * Removes the grants of roles dropped since they were granted: PostgreSQL lets a role be dropped with rows
 * naming it left, and pg_dump writes such a grant's role (a regrole of no role) as its number, which a
 * restore into another cluster gives to whichever role has that number there. Done by every `db` command
 * of a role that may (the schema's owner) on a schema of version 7 (role_id) to this release's.
 */
async function removeDroppedGrants(client: pg.ClientBase, told: OnDroppedGrants | undefined): Promise<void> {
  const { version } = await schemaStatus(client);
  if (version < 7 || version > LATEST_VERSION) return;
  const may = await client.query<{ may: boolean }>(
    "SELECT pg_catalog.has_table_privilege($1, 'DELETE') AS may",
    [`${SCHEMA}.grants`],
  );
  if (!may.rows[0]?.may) return;
  const { rows } = await client.query<DroppedGrant>(
    `DELETE FROM ${SCHEMA}.grants g
     WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role_id)
     RETURNING g.role_name::text AS role, g.repo`,
  );
  if (rows.length > 0)
    told?.(rows.sort((a, b) => `${a.role}\t${a.repo}`.localeCompare(`${b.role}\t${b.repo}`)));
}

export async function migrateDatabase(
  url: string,
  told?: OnDroppedGrants,
): Promise<{ applied: number[]; status: SchemaStatus }> {
  return withDatabase(url, async (client) => {
    const { applied } = await migrateExplained(client, parseStoreUrl(url).safe);
    await removeDroppedGrants(client, told);
    return { applied, status: await schemaStatus(client) };
  });
}

export async function databaseStatus(url: string, told?: OnDroppedGrants): Promise<SchemaStatus> {
  return withDatabase(url, async (client) => {
    await removeDroppedGrants(client, told);
    return schemaStatus(client);
  });
}

/** The longest name PostgreSQL keeps (NAMEDATALEN - 1, as it is built unless changed at compile time). */
const MAX_ROLE_BYTES = 63;

/**
 * Lets `role` see and change the runs of `repo` (and only those: row-level security), with the CLI and
 * with plain SQL. Run by the schema's owner. Idempotent. `revoke` takes the repository away again. A
 * repository is compared as GitHub compares names, case aside (migration 5).
 */
export async function grantRepository(
  url: string,
  role: string,
  repo: string,
  { revoke = false, told }: { revoke?: boolean; told?: OnDroppedGrants | undefined } = {},
): Promise<void> {
  if (!isRepoSlug(repo)) throw new UsageError(`--repo must be owner/name, got ${quote(repo)}`);
  if (role.trim() === "") {
    throw new UsageError(`db ${revoke ? "revoke" : "grant"} needs a role name, got ${quote(role)}`);
  }
  // PostgreSQL cuts a longer name to its first 63 bytes, silently: the grant would go to another role.
  const bytes = Buffer.byteLength(role);
  if (bytes > MAX_ROLE_BYTES) {
    throw new UsageError(
      `a role name is at most ${MAX_ROLE_BYTES} bytes (PostgreSQL's limit), got ${quote(role)} (${bytes} bytes)`,
    );
  }
  await withDatabase(url, async (client) => {
    // Kept in the grants table and listed by db grants: a repository holding the password is a mistake.
    if (holdsSecret(repo, [...parseStoreUrl(url).secrets, ...passwords])) {
      throw new UsageError(
        `--repo must not hold the database's password: give owner/name, got ${quote(maskSecrets(repo, [...passwords]))}`,
      );
    }
    await migrate(client);
    // A dropped role's grants are removed first; revoking one of them is then done already.
    let removed: DroppedGrant[] = [];
    await removeDroppedGrants(client, (grants) => {
      removed = grants;
      told?.(grants);
    });
    if (revoke && removed.some((g) => g.role === role && g.repo.toLowerCase() === repo.toLowerCase())) return;
    const exists = await client.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [role]);
    if (exists.rowCount === 0 && !revoke) {
      throw new UsageError(
        `role ${quote(role)} does not exist in the database: create it first (CREATE ROLE ... LOGIN PASSWORD ...)`,
      );
    }
    const who = client.escapeIdentifier(role);
    await client.query("BEGIN");
    try {
      // One grant at a time, and none while a migration runs: two GRANTs on the same table at once fail
      // ("tuple concurrently updated": each rewrites the table's privileges), which a provisioning script
      // granting several roles in parallel met.
      await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK]);
      if (revoke) {
        const removed = await client.query(
          `DELETE FROM ${SCHEMA}.grants g WHERE ${GRANTEE} = $1 AND lower(g.repo) = lower($2)`,
          [role, repo],
        );
        // A typo in the repository would otherwise look like access taken away.
        if (removed.rowCount === 0) {
          throw new UsageError(
            `role ${quote(role)} has no grant of ${repo} to revoke (db grants lists the grants)`,
          );
        }
      } else {
        await client.query(`GRANT USAGE ON SCHEMA ${SCHEMA} TO ${who}`);
        await client.query(
          `GRANT SELECT, INSERT, UPDATE ON ${SCHEMA}.runs, ${SCHEMA}.agents, ${SCHEMA}.events TO ${who}`,
        );
        await client.query(`GRANT SELECT ON ${SCHEMA}.schema_migrations, ${SCHEMA}.grants TO ${who}`);
        await client.query(
          // Once per repository whatever its case: grants match it case aside (migration 5).
          `INSERT INTO ${SCHEMA}.grants (role_id, role_name, repo)
           SELECT r.oid, r.rolname, $2 FROM pg_catalog.pg_roles r WHERE r.rolname = $1 AND NOT EXISTS (
             SELECT 1 FROM ${SCHEMA}.grants g WHERE g.role_id = r.oid AND lower(g.repo) = lower($2))`,
          [role, repo],
        );
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Whom a grant `g` is of, by name: its role's name now (renamed or not), or, once the role is dropped, the
 * name it was granted under.
 */
const GRANTEE = `coalesce((SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid = g.role_id), g.role_name)`;

/**
 * The repositories granted to each role, once the grants of dropped roles are removed (`told` of them);
 * `dropped`: such a grant, listed for a role that may not remove it (not the schema's owner).
 */
export async function listGrants(
  url: string,
  told?: OnDroppedGrants,
): Promise<{ role: string; repo: string; dropped: boolean }[]> {
  return withDatabase(url, async (client) => {
    await migrate(client);
    await removeDroppedGrants(client, told);
    const { rows } = await client.query<{ role: string; repo: string; dropped: boolean }>(
      `SELECT ${GRANTEE}::text AS role, g.repo,
              NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = g.role_id) AS dropped
       FROM ${SCHEMA}.grants g ORDER BY ${GRANTEE}, g.repo`,
    );
    return rows;
  });
}
