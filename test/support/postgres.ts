import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { unlessInCi } from "./required.js";

const run = promisify(execFile);

/** The superuser's password on the throwaway server (TCP connections need a password there). */
export const SUPERUSER_PASSWORD = "pp-test-superuser-pw";

/** Databases on a PostgreSQL server on 127.0.0.1 that a test file may use but not stop. */
export interface PostgresDatabases {
  port: number;
  /** A URL to a database on this server, as `user` (default: the superuser). */
  url(database?: string, user?: { name: string; password: string }): string;
  /** A new empty database with a unique name; resolves to its URL (superuser). */
  createDatabase(prefix?: string): Promise<{ name: string; url: string }>;
  /** Runs SQL as the superuser in `database`. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    text: string,
    values?: unknown[],
  ): Promise<R[]>;
}

/** A throwaway PostgreSQL server on 127.0.0.1, in a temporary folder, for the tests. */
export interface TestPostgres extends PostgresDatabases {
  /** Stops the server (it can be started again: `start`), e.g. to test a database that is down. */
  stopServer(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

/** The newest PostgreSQL binaries of the system (Debian: /usr/lib/postgresql/<version>/bin), or null. */
export function findPostgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, "bin", "pg_ctl")))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? join(root, versions[0], "bin") : null;
}

/** Why the PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  return unlessInCi(whyNoPostgres());
}

function whyNoPostgres(): string | null {
  if (!findPostgresBin()) return "no PostgreSQL binaries in /usr/lib/postgresql (apt-get install postgresql)";
  if (process.getuid?.() === 0) {
    try {
      execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
    } catch {
      return "running as root, and there is no `postgres` user to run the server as";
    }
  }
  return null;
}

/** A free port on 127.0.0.1 (nothing listens there once this resolves). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** Runs `command` as the `postgres` user when this process is root (PostgreSQL refuses to run as root). */
function asServerUser(command: string, args: string[]) {
  return process.getuid?.() === 0
    ? run("runuser", ["-u", "postgres", "--", command, ...args])
    : run(command, args);
}

/** A temporary folder the server's user owns (chowned to `postgres` when this process is root). */
async function serverFolder(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const { stdout: uid } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  }
  return dir;
}

/** A new cluster in `data` (initdb), its superuser's password SUPERUSER_PASSWORD. */
async function initCluster(bin: string, dir: string, data: string): Promise<void> {
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, `${SUPERUSER_PASSWORD}\n`, { mode: 0o644 });
  try {
    await asServerUser(join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "postgres",
      `--pwfile=${pwfile}`,
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** Where a test run's template cluster lives (set by test/support/postgres-template.ts, vitest's globalSetup). */
export const TEMPLATE_ENV = "PP_TEST_POSTGRES_TEMPLATE";

/**
 * Makes one cluster with initdb for a whole test run to copy (initdb costs seconds; a copy a fraction
 * of one). Resolves to its folder (the cluster in `<folder>/data`) and a function that removes it.
 */
export async function makePostgresTemplate(): Promise<{ dir: string; remove: () => void }> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresUnavailable() ?? "no PostgreSQL");
  const dir = await serverFolder("pp-pg-template-");
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await initCluster(bin, dir, join(dir, "data"));
  } catch (error) {
    remove();
    throw error;
  }
  return { dir, remove };
}

/**
 * Starts a server of the system's PostgreSQL in a temporary folder of its own, on a free loopback port,
 * its unix socket in that folder: a copy of the test run's template cluster when there is one (see
 * TEMPLATE_ENV), else a new one from initdb. PostgreSQL refuses to run as root, so a root test run starts
 * it as the `postgres` user.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresUnavailable() ?? "no PostgreSQL");
  const dir = await serverFolder("pp-pg-");
  const data = join(dir, "data");
  const template = process.env[TEMPLATE_ENV];
  const made =
    template && existsSync(join(template, "data", "PG_VERSION"))
      ? asServerUser("cp", ["-a", join(template, "data"), data])
      : initCluster(bin, dir, data);
  await made.catch((error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  const as = asServerUser;
  let port = 0;
  const options = () =>
    [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
  const start = async () => {
    await as(join(bin, "pg_ctl"), [
      "start",
      "-D",
      data,
      "-w",
      "-t",
      "120",
      "-l",
      join(dir, "log"),
      "-o",
      options(),
    ]);
  };
  const stopServer = async () => {
    await as(join(bin, "pg_ctl"), ["stop", "-D", data, "-m", "fast", "-w", "-t", "60"]);
  };
  // Whatever ends this process (a failed start, a test run killed at its timeout), the server goes too.
  const stopNow = () => {
    try {
      const command = [join(bin, "pg_ctl"), "stop", "-D", data, "-m", "immediate", "-w"];
      const asRoot = process.getuid?.() === 0;
      execFileSync(
        asRoot ? "runuser" : command[0]!,
        asRoot ? ["-u", "postgres", "--", ...command] : command.slice(1),
        {
          stdio: "ignore",
        },
      );
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stopNow);
  // The free port may be taken by someone else before the server binds it: then try another (bounded).
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 3) {
        process.off("exit", stopNow);
        stopNow();
        throw error;
      }
    }
  }
  return {
    ...databasesOn(port),
    stopServer,
    start,
    async destroy() {
      process.off("exit", stopNow);
      await stopServer().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where a test run's shared server listens (set by test/support/postgres-template.ts, vitest's globalSetup). */
export const SHARED_PORT_ENV = "PP_TEST_POSTGRES_PORT";

/**
 * The test run's shared server, for files that never stop or restart their server (each test makes
 * databases of its own on it); a file that stops its server starts one of its own (startPostgres).
 */
export function sharedPostgres(): PostgresDatabases {
  const port = Number(process.env[SHARED_PORT_ENV]);
  if (!Number.isInteger(port) || port <= 0)
    throw new Error(
      `no shared PostgreSQL server (${SHARED_PORT_ENV}): run the tests through vitest.config.ts`,
    );
  return databasesOn(port);
}

/** Runs `work` on a connection of its own to `url`, closed after it. */
export async function withConnection<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** URLs, SQL and new databases on the server listening on `port`. */
function databasesOn(port: number): PostgresDatabases {
  // Unique across the workers sharing a server, and across the files one worker runs in turn.
  const unique = `${process.pid}_${randomBytes(3).toString("hex")}`;
  let counter = 0;
  const url = (database = "postgres", user = { name: "postgres", password: SUPERUSER_PASSWORD }) =>
    `postgresql://${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const sql = <R extends pg.QueryResultRow>(database: string, text: string, values?: unknown[]) =>
    withConnection(url(database), async (client) => (await client.query<R>(text, values)).rows);
  return {
    port,
    url,
    sql,
    async createDatabase(prefix = "pp") {
      const name = `${prefix}_${unique}_${++counter}`;
      await sql("postgres", `CREATE DATABASE "${name}"`);
      return { name, url: url(name) };
    },
  };
}

/**
 * What `db grant` of schema version 6 made of `role` (its grants by the role's name): for databases made
 * at that version (migrate(client, 6)), which this release's `db grant` would migrate first.
 */
export function grantAsVersion6(
  server: PostgresDatabases,
  database: string,
  role: string,
  repos: string[],
): Promise<unknown> {
  return server.sql(
    database,
    `GRANT USAGE ON SCHEMA parallel_progress TO ${role};
     GRANT SELECT, INSERT, UPDATE ON parallel_progress.runs, parallel_progress.agents, parallel_progress.events TO ${role};
     GRANT SELECT ON parallel_progress.schema_migrations, parallel_progress.grants TO ${role};
     INSERT INTO parallel_progress.grants (role_name, repo) VALUES ${repos.map((repo) => `('${role}', '${repo}')`).join(", ")};`,
  );
}

/**
 * How many lock requests wait in `database` (`where`: which of them count; `values` its parameters): a
 * test waits on it for a process to be blocked where it means it to be.
 */
export async function waitingLocks(
  server: PostgresDatabases,
  database: string,
  where = "true",
  values: unknown[] = [],
): Promise<number> {
  const [row] = await server.sql<{ n: number }>(
    database,
    `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND (${where})`,
    values,
  );
  return row?.n ?? 0;
}
