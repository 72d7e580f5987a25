import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionConfig, parseStoreUrl } from "../../src/store/pg/config.js";
import { MIGRATION_LOCK, migrate } from "../../src/store/pg/migrate.js";
import { LATEST_VERSION } from "../../src/store/pg/migrations.js";
import { runCli, spawnCli, stopFlushers, waitFor } from "../support/cli.js";
import { useLoopbackServers } from "../support/loopback.js";
import {
  grantAsVersion6,
  type PostgresDatabases,
  postgresUnavailable,
  sharedPostgres,
  waitingLocks,
  withConnection,
} from "../support/postgres.js";

// The operators' side of the PostgreSQL store against roles that do what their privileges allow them to.

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL operators' tests: ${skip}`);

describe.skipIf(skip)("the PostgreSQL store's operators' side", () => {
  let server: PostgresDatabases;
  let dir: string;
  const serve = useLoopbackServers();

  beforeAll(async () => {
    server = sharedPostgres();
    dir = await mkdtemp(join(tmpdir(), "pp-ops-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli([...args, "--dir", dir]);

  /** A login role of its own (roles are the server's, shared by every test): its name and URL in `database`. */
  const role = async (database: string, prefix: string) => {
    const name = `${prefix}_${randomBytes(3).toString("hex")}`;
    const password = `${name}-pw`;
    await server.sql(database, `CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
    return { name, url: server.url(database, { name, password }) };
  };

  it("never runs a look-alike function that a role may create in public, for the owner or another role", async () => {
    const { url: owner, name } = await server.createDatabase("searchpath");
    // PostgreSQL 13 and 14's default: every role may create in public, which is on every role's search_path.
    await server.sql(name, "GRANT CREATE ON SCHEMA public TO PUBLIC");
    const [a, b] = [await role(name, "spa"), await role(name, "spb")];
    for (const [who, repo] of [
      [a, "acme/a"],
      [b, "acme/b"],
    ] as const) {
      const granted = await cli(["db", "grant", who.name, "--repo", repo, "--store", owner]);
      expect(granted.code, granted.stderr).toBe(0);
    }
    const init = await cli([
      "init",
      "--epic",
      "SECRET-B",
      "--domains",
      "x",
      "--repo",
      "acme/b",
      "--store",
      b.url,
    ]);
    expect(init.code, init.stderr).toBe(0);
    const agent = init.stdout.split("\t")[1]!.trim();
    // Role a's look-alikes of what the owner's `history` and every role's read call, with a closer match than
    // pg_catalog's (whose arguments are "any"): each records who ran it and, run by the owner, grants a
    // acme/b.
    await server.sql(
      name,
      `SET ROLE ${a.name};
       CREATE TABLE public.ran (who text, what text);
       GRANT INSERT ON public.ran TO PUBLIC;
       CREATE FUNCTION public.jsonb_build_object(text, bigint, text, text, text, jsonb) RETURNS jsonb
       LANGUAGE plpgsql AS $f$
       BEGIN
         INSERT INTO public.ran VALUES (current_user, 'jsonb_build_object');
         BEGIN
           INSERT INTO parallel_progress.grants (role_name, repo) VALUES ('${a.name}', 'acme/b');
         EXCEPTION WHEN insufficient_privilege THEN NULL;
         END;
         RETURN pg_catalog.jsonb_build_object($1, $2, $3, $4, $5, $6);
       END $f$;
       CREATE FUNCTION public.json_build_array(text, bigint, jsonb) RETURNS json LANGUAGE plpgsql AS $f$
       BEGIN
         INSERT INTO public.ran VALUES (current_user, 'json_build_array');
         RETURN pg_catalog.json_build_array($1, $2, $3);
       END $f$;`,
    );
    const history = await cli(["history", "--json", "--store", owner]);
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as { epicId: string }[]).map((run) => run.epicId)).toEqual([
      "SECRET-B",
    ]);
    const update = await cli([
      "update",
      agent,
      "--status",
      "in_progress",
      "--files",
      "1/9",
      "--epic",
      "SECRET-B",
      "--store",
      b.url,
    ]);
    expect(update.code, update.stderr).toBe(0);
    const status = await cli(["status", "--json", "--epic", "SECRET-B", "--store", b.url]);
    expect(JSON.parse(status.stdout).agents[0]).toMatchObject({ status: "in_progress", filesCompleted: 1 });
    expect(await server.sql(name, "SELECT who, what FROM public.ran")).toEqual([]);
    const grants = await cli(["db", "grants", "--store", owner]);
    expect(grants.stdout).toBe(`${[`${a.name}\tacme/a`, `${b.name}\tacme/b`].sort().join("\n")}\n`);
  });

  it("keeps the settings of the URL's options, its search_path aside", async () => {
    const { url } = await server.createDatabase("options");
    const given = `${url}?options=${encodeURIComponent("-c work_mem=7MB -c search_path=public")}`;
    const client = new pg.Client(connectionConfig(parseStoreUrl(given)));
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT current_setting('work_mem') AS work_mem, current_setting('search_path') AS path",
      );
      expect(rows).toEqual([{ work_mem: "7MB", path: "pg_catalog,pg_temp" }]);
    } finally {
      await client.end();
    }
  });

  it("has a granted role's call that waited for the owner's migration find nothing left to do, and go on", async () => {
    const { url: owner, name } = await server.createDatabase("migratewait");
    await withConnection(owner, (client) => migrate(client, 6));
    const agent = await role(name, "mwa");
    await grantAsVersion6(server, name, agent.name, ["acme/a"]);
    const waiting = () =>
      waitingLocks(
        server,
        name,
        "locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
    // A migration that takes a while (the lock held here), the owner's `db migrate` waiting for it, then the
    // agent's init.
    await withConnection(owner, async (holder) => {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK]);
      const migrating = spawnCli(["db", "migrate", "--store", owner, "--dir", dir]);
      expect(await waitFor(async () => (await waiting()) === 1)).toBe(true);
      const starting = spawnCli([
        "init",
        "--epic",
        "E6",
        "--domains",
        "a",
        "--repo",
        "acme/a",
        "--store",
        agent.url,
        "--dir",
        dir,
      ]);
      expect(await waitFor(async () => (await waiting()) === 2)).toBe(true);
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK]);
      const [migrated, started] = await Promise.all([migrating.done, starting.done]);
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stderr).toBe("");
    });
    const status = await cli(["status", "--json", "--epic", "E6", "--store", agent.url]);
    expect(JSON.parse(status.stdout)).toMatchObject({ epicId: "E6", agents: [{ domain: "a" }] });
  });

  it("refuses a role name longer than PostgreSQL keeps (63 bytes), which it would cut to another role's", async () => {
    const { url: owner, name } = await server.createDatabase("longrole");
    const kept = `l${randomBytes(31).toString("hex")}`.slice(0, 63); // 63 bytes: as long as a name is kept
    await server.sql(name, `CREATE ROLE ${kept} NOLOGIN`);
    for (const [command, given] of [
      ["grant", `${kept}XYZ`],
      ["grant", `${kept}XYZ`],
      ["revoke", `${kept}XYZ`],
      ["grant", "é".repeat(32)], // 64 bytes in 32 characters
    ] as const) {
      const result = await cli(["db", command, given, "--repo", "acme/long", "--store", owner]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toBe(
        `parallel-progress: error: a role name is at most 63 bytes (PostgreSQL's limit), got ${JSON.stringify(given)} (${Buffer.byteLength(given)} bytes)\n`,
      );
    }
    expect((await cli(["db", "grants", "--store", owner])).stdout).toBe("");
    const granted = await cli(["db", "grant", kept, "--repo", "acme/long", "--store", owner]);
    expect(granted.code, granted.stderr).toBe(0);
    expect((await cli(["db", "grants", "--store", owner])).stdout).toBe(`${kept}\tacme/long\n`);
  });

  it("makes grants given at once one after the other: each succeeds", async () => {
    const { url: owner, name } = await server.createDatabase("grantrace");
    const roles = await Promise.all(
      ["gra", "grb", "grc", "grd", "gre", "grf"].map((prefix) => role(name, prefix)),
    );
    expect((await cli(["db", "migrate", "--store", owner])).code).toBe(0);
    // Another grant half done (its transaction has changed the table's privileges): one made meanwhile waits
    // for it, then makes its own (PostgreSQL refused the second of two GRANTs on a table at once).
    await withConnection(owner, async (other) => {
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK]);
      await other.query(`GRANT SELECT ON parallel_progress.runs TO ${roles[0]!.name}`);
      const granting = spawnCli([
        "db",
        "grant",
        roles[1]!.name,
        "--repo",
        "acme/r",
        "--store",
        owner,
        "--dir",
        dir,
      ]);
      const waits = () =>
        server.sql(
          name,
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'parallel-progress' AND wait_event_type = 'Lock'",
        );
      expect(await waitFor(async () => (await waits()).length === 1)).toBe(true);
      await other.query("COMMIT");
      const granted = await granting.done;
      expect(granted.code, granted.stderr).toBe(0);
    });
    // Six at once, as a provisioning script may give them.
    const results = await Promise.all(
      roles.map((each) => cli(["db", "grant", each.name, "--repo", "acme/s", "--store", owner])),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const listed = (await cli(["db", "grants", "--store", owner])).stdout.trim().split("\n");
    expect(listed.sort()).toEqual(
      [`${roles[1]!.name}\tacme/r`, ...roles.map((each) => `${each.name}\tacme/s`)].sort(),
    );
  });

  it("lets a grant die with its role: removed by the next db command, saying so, never passed to a new role of that name", async () => {
    const { url: owner, name } = await server.createDatabase("dropped");
    const ghost = await role(name, "ghost");
    expect((await cli(["db", "grant", ghost.name, "--repo", "acme/secret", "--store", owner])).code).toBe(0);
    const init = await cli([
      "init",
      "--epic",
      "SECRET1",
      "--domains",
      "x",
      "--repo",
      "acme/secret",
      "--store",
      owner,
    ]);
    expect(init.code, init.stderr).toBe(0);
    await server.sql(name, `DROP OWNED BY ${ghost.name}; DROP ROLE ${ghost.name}`);
    // PostgreSQL keeps the row; pg_dump would write its role as a number, which a restore into another
    // cluster gives to whichever role has it there. The next db command removes it, whichever it is.
    const removal = `parallel-progress: warning: removed the grant of acme/secret to role ${ghost.name}, which was dropped (a dump restored elsewhere would give it to the role with its number there)\n`;
    const status = await cli(["db", "status", "--store", owner]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toBe(removal);
    expect(await server.sql(name, "SELECT repo FROM parallel_progress.grants")).toEqual([]);
    const grants = await cli(["db", "grants", "--store", owner]);
    expect([grants.stdout, grants.stderr]).toEqual(["", ""]);
    // Later, a new role of the same name, given another repository.
    await server.sql(name, `CREATE ROLE ${ghost.name} LOGIN PASSWORD 'new-pw'`);
    expect((await cli(["db", "grant", ghost.name, "--repo", "acme/other", "--store", owner])).code).toBe(0);
    const history = await cli([
      "history",
      "--json",
      "--store",
      server.url(name, { name: ghost.name, password: "new-pw" }),
    ]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual([]);
    expect((await cli(["db", "grants", "--store", owner])).stdout).toBe(`${ghost.name}\tacme/other\n`);
    // A revoke of a dropped role's grant finds it removed already: done, and said.
    await server.sql(name, `DROP OWNED BY ${ghost.name}; DROP ROLE ${ghost.name}`);
    const gone = await cli(["db", "revoke", ghost.name, "--repo", "acme/other", "--store", owner]);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stderr).toContain(`removed the grant of acme/other to role ${ghost.name}, which was dropped`);
    expect((await cli(["db", "grants", "--store", owner])).stdout).toBe("");
  });

  it("upgrades a database of version 6 with grants: each kept for its role, a dropped role's removed", async () => {
    const { url: owner, name } = await server.createDatabase("upgrade6");
    await withConnection(owner, (client) => migrate(client, 6));
    const [kept, gone] = [await role(name, "kept"), await role(name, "gone")];
    await grantAsVersion6(server, name, kept.name, ["acme/kept"]);
    await server.sql(
      name,
      `INSERT INTO parallel_progress.grants (role_name, repo) VALUES ('${gone.name}', 'acme/kept')`,
    );
    await server.sql(name, `DROP ROLE ${gone.name}`);
    const init = await cli([
      "init",
      "--epic",
      "OLD",
      "--domains",
      "x",
      "--repo",
      "acme/kept",
      "--store",
      owner,
    ]);
    expect(init.code, init.stderr).toBe(0); // migrates
    expect((await cli(["db", "grants", "--store", owner])).stdout).toBe(`${kept.name}\tacme/kept\n`);
    const status = await cli(["status", "--json", "--epic", "OLD", "--store", kept.url]);
    expect(status.code, status.stderr).toBe(0);
    // The next role of the dropped one's name gets none of its repositories.
    await server.sql(name, `CREATE ROLE ${gone.name} LOGIN PASSWORD 'again-pw'`);
    expect((await cli(["db", "grant", gone.name, "--repo", "acme/other", "--store", owner])).code).toBe(0);
    const again = server.url(name, { name: gone.name, password: "again-pw" });
    const peek = await cli(["status", "--json", "--epic", "OLD", "--store", again]);
    expect(peek.code).toBe(2);
    expect(peek.stderr).toMatch(/no run/);
  });

  it("keeps a run's own fields an object, and lists the other runs beside a damaged one, naming it", async () => {
    const { url: owner, name } = await server.createDatabase("damaged");
    await withConnection(owner, (client) => migrate(client, 6));
    // Damaged at version 6, which did not check it: kept by the migration, named by history.
    await server.sql(
      name,
      `INSERT INTO parallel_progress.runs (run_id, epic_id, repo, started_at, seq, event, run_state)
       VALUES ('r-null', 'BROKEN', 'acme/a', now() - interval '1 hour', 0, '', 'null')`,
    );
    const agent = await role(name, "dmg");
    expect((await cli(["db", "grant", agent.name, "--repo", "acme/a", "--store", owner])).code).toBe(0);
    for (const epic of ["GOOD", "EDITED"]) {
      const init = await cli([
        "init",
        "--epic",
        epic,
        "--domains",
        "x",
        "--repo",
        "acme/a",
        "--store",
        agent.url,
      ]);
      expect(init.code, init.stderr).toBe(0);
    }
    await withConnection(agent.url, async (client) => {
      await expect(
        client.query("UPDATE parallel_progress.runs SET run_state = 'null' WHERE epic_id = 'GOOD'"),
      ).rejects.toThrow(/runs_run_state_object/);
      // An object still, but not a run's: history names it too.
      await client.query(
        "UPDATE parallel_progress.runs SET run_state = run_state - 'startedAt' WHERE epic_id = 'EDITED'",
      );
    });
    const history = await cli(["history", "--json", "--store", owner]);
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as { epicId: string }[]).map((run) => run.epicId)).toEqual(["GOOD"]);
    const edited = (
      await server.sql<{ run_id: string }>(
        name,
        "SELECT run_id FROM parallel_progress.runs WHERE epic_id = 'EDITED'",
      )
    )[0]!.run_id;
    expect(history.stderr).toBe(
      [
        `parallel-progress: warning: run "${edited}" of epic "EDITED": startedAt must be a string, it is missing: not listed (its stored state is damaged)`,
        'parallel-progress: warning: run "r-null" of epic "BROKEN": run_state must be an object, got null: not listed (its stored state is damaged)',
        "",
      ].join("\n"),
    );
  });

  it("refuses a run's repository in run_state other than its row's, so no role moves a run with plain SQL", async () => {
    const { url: owner, name } = await server.createDatabase("repomove");
    const [a, b] = [await role(name, "mva"), await role(name, "mvb")];
    for (const [who, repo] of [
      [a, "acme/a"],
      [b, "acme/b"],
    ] as const) {
      expect((await cli(["db", "grant", who.name, "--repo", repo, "--store", owner])).code).toBe(0);
    }
    const init = await cli([
      "init",
      "--epic",
      "MOVE",
      "--domains",
      "x",
      "--repo",
      "acme/a",
      "--store",
      a.url,
    ]);
    expect(init.code, init.stderr).toBe(0);
    // Row-level security checks the row's repo, which stays acme/a: the constraint refuses the state's.
    await withConnection(a.url, async (client) => {
      await expect(
        client.query(
          `UPDATE parallel_progress.runs SET run_state = jsonb_set(run_state, '{github,repo}', '"acme/b"')`,
        ),
      ).rejects.toThrow(/runs_repo_of_run_state/);
    });
    expect((await cli(["finalize", "--epic", "MOVE", "--store", owner])).code).toBe(0);
    const peek = await cli(["status", "--json", "--epic", "MOVE", "--store", b.url]);
    expect(peek.code).toBe(2);
    expect(peek.stderr).toMatch(/no run/);
    // The CLI sets a repository on a run that has none (the owner, allowed every repository): state and row alike.
    const next = await cli(["init", "--epic", "MOVE2", "--domains", "x", "--store", owner]);
    expect(next.code, next.stderr).toBe(0);
    const moved = await cli([
      "update",
      "x",
      "--status",
      "in_progress",
      "--epic",
      "MOVE2",
      "--repo",
      "acme/b",
      "--store",
      owner,
    ]);
    expect(moved.code, moved.stderr).toBe(0);
    const seen = await cli(["status", "--json", "--epic", "MOVE2", "--store", b.url]);
    expect(seen.code, seen.stderr).toBe(0);
    expect(
      await server.sql(
        name,
        "SELECT repo, run_state -> 'github' ->> 'repo' AS stated FROM parallel_progress.runs WHERE epic_id = 'MOVE2'",
      ),
    ).toEqual([{ repo: "acme/b", stated: "acme/b" }]);
  });

  it("sends a call's token to the run's stored API only when the call configured no API of its own", async () => {
    const { url: owner, name } = await server.createDatabase("apimove");
    const a = await role(name, "api");
    expect((await cli(["db", "grant", a.name, "--repo", "acme/a", "--store", owner])).code).toBe(0);
    const init = await cli(["init", "--epic", "API", "--domains", "x", "--repo", "acme/a", "--store", a.url]);
    expect(init.code, init.stderr).toBe(0);
    // A role of the run's repository points the run at a server of its own, with plain SQL.
    const planted = await serve((_request, response) => {
      response.writeHead(401, { "content-type": "application/json" });
      response.end('{"message":"Bad credentials"}');
    });
    await withConnection(a.url, (client) =>
      client.query(
        `UPDATE parallel_progress.runs SET issue_number = 7, run_state = jsonb_set(jsonb_set(run_state,
           '{github,apiUrl}', to_jsonb($1::text)), '{github,issueNumber}', '7')`,
        [planted.url],
      ),
    );
    const folder = await mkdtemp(join(tmpdir(), "pp-api-"));
    try {
      const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
      const configured = await runCli(["finalize", "--epic", "API", "--store", owner, "--dir", folder], {
        env: { GITHUB_TOKEN: token, GITHUB_API_URL: "https://api.github.com" },
      });
      expect(configured.code, configured.stderr).toBe(0);
      expect(configured.stderr).toContain(
        `the run posts to ${planted.url}, but this call's GitHub API is https://api.github.com`,
      );
      expect(configured.stderr).toContain("the token is not sent to another");
      expect(planted.received).toEqual([]);
      // A call that configured none follows the run's stored API, as every machine of the run does.
      const unconfigured = await runCli(["retry", "--epic", "API", "--store", owner, "--dir", folder], {
        env: { GITHUB_TOKEN: token },
      });
      expect(unconfigured.code, unconfigured.stderr).not.toBeNull();
      expect(planted.received.length).toBeGreaterThan(0);
    } finally {
      await stopFlushers(folder);
      await rm(folder, { recursive: true, force: true });
    }
  });

  // A granted role's read of runs locks runs, then grants (its policy): here in two steps, the first table
  // locked before the owner's db migrate, the read once the migration waits for that table. A migration that
  // held grants by then deadlocked with it; one that holds runs and waits for agents does so still (plain SQL
  // that took agents first), and is then given up (it waited first) and tried again once the read is done.
  it.each([
    ["runs", "waits for the read, or the read for it, never both"],
    ["agents", "is tried again after a deadlock all the same"],
  ])("migrates past a granted role that locked %s and then reads runs: it %s", async (first) => {
    const { url: owner, name } = await server.createDatabase("deadlock");
    await withConnection(owner, (client) => migrate(client, 6));
    const reader = await role(name, "rdr");
    await grantAsVersion6(server, name, reader.name, ["acme/a"]);
    const waiting = async () =>
      (await waitingLocks(server, name, "relation = $1::regclass", [`parallel_progress.${first}`])) === 1;
    await withConnection(reader.url, async (client) => {
      await client.query("BEGIN");
      await client.query(`LOCK TABLE parallel_progress.${first} IN ACCESS SHARE MODE`);
      const migrating = spawnCli(["db", "migrate", "--store", owner, "--dir", dir]);
      expect(await waitFor(waiting)).toBe(true);
      const { rows } = await client.query("SELECT count(*)::int AS n FROM parallel_progress.runs");
      expect(rows).toEqual([{ n: 0 }]);
      await client.query("COMMIT");
      const migrated = await migrating.done;
      expect(migrated.code, migrated.stderr).toBe(0);
    });
    const status = await cli(["db", "status", "--store", owner]);
    expect(status.stdout).toContain(`version ${LATEST_VERSION}`);
  });

  it("says a schema is newer than this release knows and goes on working on it, until a newer migration renames what it uses", async () => {
    const { url: owner, name } = await server.createDatabase("newer");
    expect((await cli(["db", "migrate", "--store", owner])).code).toBe(0);
    const next = LATEST_VERSION + 1;
    await server.sql(
      name,
      `INSERT INTO parallel_progress.schema_migrations (version, name) VALUES (${next}, 'from a newer release')`,
    );
    const tail = `newer than this release, which knows up to ${LATEST_VERSION} (a newer release applied ${next} "from a newer release"); this one goes on working on it: upgrade parallel-progress to use what it adds`;
    const status = await cli(["db", "status", "--store", owner]);
    expect(status.stdout.split("\n")[0]).toBe(`schema version ${next} (${tail})`);
    const migrated = await cli(["db", "migrate", "--store", owner]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toBe(`schema version ${next}\n`);
    expect(migrated.stderr).toBe(`parallel-progress: warning: schema version ${next} is ${tail}\n`);
    const init = await cli(["init", "--epic", "NEW", "--domains", "a", "--store", owner]);
    expect(init.code, init.stderr).toBe(0);
    // A newer migration that breaks older releases renames what they use: they are refused, saying why.
    await server.sql(name, "ALTER TABLE parallel_progress.runs RENAME COLUMN event TO event_line");
    const update = await cli(["update", "a", "--status", "in_progress", "--epic", "NEW", "--store", owner]);
    expect(update.code).toBe(2);
    expect(update.stderr).toMatch(
      new RegExp(
        `^parallel-progress: error: postgresql://postgres@.*: the schema is at version ${next}, newer than this release knows \\(${LATEST_VERSION}\\), and no longer has what this release uses: column "event" does not exist: upgrade parallel-progress on this machine\n$`,
      ),
    );
  });
});
