import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRun } from "../../src/model/run.js";
import { migrate } from "../../src/store/pg/migrate.js";
import { LATEST_VERSION } from "../../src/store/pg/migrations.js";
import { runCli } from "../support/cli.js";
import { machinesUnavailable, useMachines } from "../support/machine.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL db/history tests: ${skip}`);
const noMachines = skip ? null : await machinesUnavailable();
if (noMachines) console.warn(`skipping the PostgreSQL tests on simulated machines: ${noMachines}`);

describe.skipIf(skip)("db commands, row-level security and history", () => {
  let server: PostgresDatabases;
  let dir: string;
  const machine = useMachines();

  beforeAll(async () => {
    server = sharedPostgres();
    dir = await mkdtemp(join(tmpdir(), "pp-db-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args, "--dir", dir], { env });

  it.skipIf(noMachines)(
    "migrates once when ten machines meet an empty database at once, and all succeed",
    async () => {
      const { url, name } = await server.createDatabase("migrate10");
      const hosts = await Promise.all(Array.from({ length: 10 }, (_, i) => machine(`m${i}`)));
      const results = await Promise.all(
        hosts.map((host, i) =>
          host.cli(["init", "--epic", `E-${i}`, "--domains", "a,b", "--store", url], {}),
        ),
      );
      for (const result of results) expect(result.code, result.stderr).toBe(0);
      const migrations = await server.sql(name, "SELECT version FROM parallel_progress.schema_migrations");
      expect(migrations).toHaveLength(7);
      const runs = await server.sql(name, "SELECT DISTINCT epic_id FROM parallel_progress.runs");
      expect(runs).toHaveLength(10);
      const status = await cli(["db", "status", "--store", url]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(
        /^schema version 7\n1\t\S+\truns, agents, events\n2\t.*\n3\t\S+\ta row per agent.*\n4\t\S+\tan epic id belongs to one repository\n5\t\S+\ta repository is granted as GitHub names it, case aside, and to a granted role.s members\n6\t\S+\tan agent.s or event.s run is looked up by its key\n7\t\S+\ta grant belongs to its role, not to its name; a run.s own fields are an object\n/,
      );
      const again = await cli(["db", "migrate", "--store", url]);
      expect(again.stdout.trim()).toBe("schema version 7");
    },
  );

  it("db status on an empty database says so; db commands without a database are refused", async () => {
    const { url } = await server.createDatabase("empty");
    expect((await cli(["db", "status", "--store", url])).stdout).toMatch(
      /^schema version 0 \(this release expects 7/,
    );
    const none = await cli(["db", "status"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/db commands need a database/);
  });

  it("refuses a file the URL names that cannot be read (missing, or a folder) in one line, exit 2, for every command", async () => {
    const { url } = await server.createDatabase("sslfile");
    for (const file of ["/nowhere/ca.pem", tmpdir()]) {
      const store = `${url}?sslmode=verify-full&sslrootcert=${file}`;
      for (const args of [["db", "status"], ["db", "migrate"], ["history"], ["status", "--epic", "E"]]) {
        const result = await cli([...args, "--store", store]);
        expect(result.code, `${args.join(" ")} ${file}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toMatch(/^parallel-progress: error: .*: cannot read a file the URL names: /);
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
      }
    }
  });

  it.skipIf(noMachines)(
    "lets each role see and change only the runs of the repositories granted to it, by CLI and plain SQL",
    async () => {
      const { url, name } = await server.createDatabase("rls");
      for (const role of ["alice", "bob"])
        await server.sql(name, `CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw'`);
      expect((await cli(["db", "grant", "alice", "--repo", "acme/apples", "--store", url])).code).toBe(0);
      expect((await cli(["db", "grant", "bob", "--repo", "acme/bananas", "--store", url])).code).toBe(0);
      // The same repository in another case is the same grant: listed once.
      expect((await cli(["db", "grant", "alice", "--repo", "Acme/Apples", "--store", url])).code).toBe(0);
      expect((await cli(["db", "grants", "--store", url])).stdout).toBe(
        "alice\tacme/apples\nbob\tacme/bananas\n",
      );
      const alice = server.url(name, { name: "alice", password: "alice-pw" });
      const bob = server.url(name, { name: "bob", password: "bob-pw" });
      // Each role on a machine of its own.
      const [alicesMachine, bobsMachine] = await Promise.all([machine("alice"), machine("bob")]);
      const on = (store: string) => (store === alice ? alicesMachine : bobsMachine);
      const cliAs = (store: string, args: string[]) => on(store).cli([...args, "--store", store], {});
      const init = (store: string, epic: string, repo: string) =>
        cliAs(store, ["init", "--epic", epic, "--domains", "api", "--repo", repo, "--issue", "1"]);
      const a = await init(alice, "EPIC-A", "acme/apples");
      expect(a.code, a.stderr).toBe(0);
      const b = await init(bob, "EPIC-B", "acme/bananas");
      expect(b.code, b.stderr).toBe(0);
      const bobAgent = b.stdout.split("\t")[1]!.trim();

      // Alice cannot see Bob's run, change it, or start a run for a repository she was not granted.
      const peek = await cliAs(alice, ["status", "--json", "--epic", "EPIC-B"]);
      expect(peek.code).toBe(2);
      expect(peek.stderr).toMatch(/no run/);
      const touch = await cliAs(alice, ["update", bobAgent, "--status", "failed", "--epic", "EPIC-B"]);
      expect(touch.code).toBe(2);
      const intrude = await init(alice, "EPIC-C", "acme/bananas");
      expect(intrude.code).toBe(2);
      expect(intrude.stderr).toMatch(/no permission/);
      expect((await cliAs(bob, ["status", "--json", "--epic", "EPIC-B"])).code).toBe(0);

      // The same with plain SQL, connected as alice.
      const pg = (await import("pg")).default;
      const client = new pg.Client({ connectionString: alice });
      await client.connect();
      try {
        const runs = await client.query("SELECT epic_id FROM parallel_progress.runs");
        expect(runs.rows).toEqual([{ epic_id: "EPIC-A" }]);
        const agents = await client.query("SELECT count(*)::int AS n FROM parallel_progress.agents");
        expect(agents.rows[0].n).toBe(1);
        const updated = await client.query(
          "UPDATE parallel_progress.runs SET completed_at = now() WHERE epic_id = 'EPIC-B'",
        );
        expect(updated.rowCount).toBe(0);
        await expect(
          client.query("UPDATE parallel_progress.runs SET repo = 'acme/bananas' WHERE epic_id = 'EPIC-A'"),
        ).rejects.toThrow(/row-level security/);
      } finally {
        await client.end();
      }
      const history = JSON.parse((await cliAs(alice, ["history", "--json"])).stdout) as {
        epicId: string;
      }[];
      expect(history.map((h) => h.epicId)).toEqual(["EPIC-A"]);

      // A hostile role name is data: no such role, nothing run.
      const hostile = await cli([
        "db",
        "grant",
        'x"; DROP TABLE parallel_progress.runs; --',
        "--repo",
        "a/b",
        "--store",
        url,
      ]);
      expect(hostile.code).toBe(2);
      expect(hostile.stderr).toMatch(/does not exist/);
      expect(await server.sql(name, "SELECT count(*)::int AS n FROM parallel_progress.runs")).toEqual([
        { n: 2 },
      ]);
    },
  );

  it("prints a role name holding a tab or a line break quoted, so that it cannot forge a line of db grants", async () => {
    const { url, name } = await server.createDatabase("rolename");
    const role = "eve\tacme/secret\nmallory";
    await server.sql(name, `CREATE ROLE "${role}" LOGIN PASSWORD 'eve-pw'`);
    const granted = await cli(["db", "grant", role, "--repo", "acme/apples", "--store", url, "--verbose"]);
    expect(granted.code, granted.stderr).toBe(0);
    expect(granted.stderr).toContain('role "eve\\tacme/secret\\nmallory", runs of acme/apples');
    expect((await cli(["db", "grants", "--store", url])).stdout).toBe(
      '"eve\\tacme/secret\\nmallory"\tacme/apples\n',
    );
  });

  it("prints a role name that would pass for another quoted: an invisible character, a space at an end, a quote first", async () => {
    const { url, name } = await server.createDatabase("rolelook");
    const base = `agw_${randomBytes(3).toString("hex")}`; // roles are the server's: names of their own
    const shown: Record<string, string> = {
      [base]: base,
      [`${base}\u200b`]: `"${base}\\u200b"`, // zero-width space
      [`${base}\u2060x`]: `"${base}\\u2060x"`, // word joiner
      [`${base}\u00a0`]: `"${base}\\u00a0"`, // no-break space
      [`${base}\u00adx`]: `"${base}\\u00adx"`, // soft hyphen
      [`${base} `]: `"${base} "`,
      [`"${base}"`]: `"\\"${base}\\""`,
    };
    for (const role of Object.keys(shown)) {
      await server.sql(name, `CREATE ROLE "${role.replaceAll('"', '""')}" NOLOGIN`);
      const granted = await cli(["db", "grant", role, "--repo", "acme/apples", "--store", url]);
      expect(granted.code, granted.stderr).toBe(0);
    }
    const listed = await cli(["db", "grants", "--store", url]);
    expect(listed.stdout.trimEnd().split("\n").sort()).toEqual(
      Object.values(shown)
        .map((role) => `${role}\tacme/apples`)
        .sort(),
    );
  });

  it("db migrate by a role that may not use the schema says it needs a grant, not a migration", async () => {
    const { url, name } = await server.createDatabase("nousage");
    expect((await cli(["db", "migrate", "--store", url])).code).toBe(0);
    await server.sql(name, "CREATE ROLE ned LOGIN PASSWORD 'ned-pw'");
    expect((await cli(["db", "grant", "ned", "--repo", "acme/apples", "--store", url])).code).toBe(0);
    await server.sql(name, "REVOKE USAGE ON SCHEMA parallel_progress FROM ned");
    const result = await cli([
      "db",
      "migrate",
      "--store",
      server.url(name, { name: "ned", password: "ned-pw" }),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^parallel-progress: error: postgresql:\/\/ned@.* \(reading the schema's version\): no permission: permission denied for schema parallel_progress \(the owner can run `parallel-progress db grant <role> --repo <owner\/name>`\)\n$/,
    );
  });

  it("init --json prints the run as status --json does, what this machine keeps for it included", async () => {
    const { url } = await server.createDatabase("init_json");
    const env = { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "EPIC-IJ" };
    const init = await cli(["init", "--domains", "api", "--json"], env);
    expect(init.code, init.stderr).toBe(0);
    const status = await cli(["status", "--json"], env);
    const [shown, looked] = [init, status].map((result) => JSON.parse(result.stdout) as { sync: unknown });
    expect(shown!.sync).toEqual(looked!.sync);
    expect(shown!.sync).toMatchObject({ kept: 0 });
  });

  it("keeps one events row per change naming the agent it was about, a child's and a logged event's too", async () => {
    const { url, name } = await server.createDatabase("events");
    const env = { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "EPIC-EV" };
    const ids = async (args: string[]) =>
      (await cli(args, env)).stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t")[1]!);
    const [, web] = await ids(["init", "--domains", "api,web"]);
    const [child] = await ids(["add", "--domains", "db", "--parent", "api"]);
    for (const args of [
      ["update", child!, "--status", "in_progress", "--files", "1/2"],
      ["log", web!, "compiled"],
      ["update", web!, "--status", "in_progress"],
      ["update", web!, "--status", "in_progress"],
      ["complete", child!],
    ]) {
      expect((await cli(args, env)).code, args.join(" ")).toBe(0);
    }
    const rows = await server.sql<{ seq: number; agent: string | null; event: string }>(
      name,
      "SELECT seq::int AS seq, agent_id AS agent, event FROM parallel_progress.events ORDER BY seq",
    );
    expect(rows.slice(-6)).toEqual([
      { seq: 2, agent: child, event: expect.stringContaining("added") },
      { seq: 3, agent: child, event: `Agent ${child} progress updated` },
      { seq: 4, agent: web, event: `Agent ${web}: compiled` },
      { seq: 5, agent: web, event: `Agent ${web} progress updated` },
      // The same update again: the run's line as it is, not the agent's last logged event.
      { seq: 6, agent: web, event: `Agent ${web} progress updated` },
      { seq: 7, agent: child, event: `Agent ${child} completed` },
    ]);
  });

  it("keeps every run and lists them newest first with each domain's duration", async () => {
    const { url, name } = await server.createDatabase("history");
    const env = { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "EPIC-H" };
    for (let round = 0; round < 2; round++) {
      const init = await cli(["init", "--epic", "EPIC-H", "--domains", "api,web"], env);
      expect(init.code, init.stderr).toBe(0);
      const [api] = init.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t")[1]!);
      expect((await cli(["update", api!, "--status", "in_progress", "--files", "0/2"], env)).code).toBe(0);
      expect((await cli(["complete", api!], env)).code).toBe(0);
      expect((await cli(["finalize", "--summary", "done"], env)).code).toBe(0);
    }
    await cli(["init", "--epic", "OTHER", "--domains", "x"], env);
    const result = await cli(["history", "--json"], env);
    expect(result.code, result.stderr).toBe(0);
    const entries = JSON.parse(result.stdout) as {
      epicId: string;
      runId: string;
      startedAt: string;
      completedAt: string | null;
      durationMs: number | null;
      agents: { domain: string; status: string; durationMs: number | null }[];
    }[];
    expect(entries).toHaveLength(2);
    expect(entries[0]!.runId).not.toBe(entries[1]!.runId);
    expect(entries[0]!.startedAt >= entries[1]!.startedAt).toBe(true); // newest first
    for (const entry of entries) {
      expect(entry.epicId).toBe("EPIC-H");
      expect(entry.completedAt).not.toBeNull();
      expect(entry.durationMs).toBeGreaterThanOrEqual(0);
      expect(entry.agents.map((a) => [a.domain, a.status])).toEqual([
        ["api", "completed"],
        ["web", "pending"],
      ]);
      expect(entry.agents[0]!.durationMs).toBeGreaterThanOrEqual(0);
      expect(entry.agents[1]!.durationMs).toBeNull();
    }
    const all = JSON.parse((await cli(["history", "--json", "--epic", "OTHER"], env)).stdout) as unknown[];
    expect(all).toHaveLength(1);
    const text = await cli(["history"], env);
    expect(text.stdout).toMatch(/EPIC-H\t\S+\t/);
    // Newest by when it started, not by when its row was made: a run whose init committed last (a slow
    // machine) but started first is listed last.
    await server.sql(
      name,
      `UPDATE parallel_progress.runs SET started_at = started_at - interval '1 hour',
         run_state = jsonb_set(run_state, '{startedAt}',
           to_jsonb(to_char((started_at - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
       WHERE epic_id = 'OTHER'`,
    );
    const everything = JSON.parse(
      (await cli(["history", "--json"], { PARALLEL_PROGRESS_STORE: url })).stdout,
    ) as {
      epicId: string;
    }[];
    expect(everything.map((entry) => entry.epicId)).toEqual(["EPIC-H", "EPIC-H", "OTHER"]);
  });

  it("history on a database of an older schema brings it up to date first, as every other command does", async () => {
    const { url, name } = await server.createDatabase("history_old");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await migrate(client, 2);
    } finally {
      await client.end();
    }
    // A run as version 2 kept it: the whole run, its agents included, in runs.state.
    const run = createRun({
      epicId: "OLD",
      domains: ["api"],
      now: Date.parse("2025-01-01T00:00:00Z"),
      github: {
        issueNumber: null,
        repo: null,
        apiUrl: "https://api.github.com",
        syncEnabled: false,
        commentMode: "edit",
        minIntervalMs: 0,
      },
      nonce: "00",
    });
    await server.sql(
      name,
      `INSERT INTO parallel_progress.runs (run_id, epic_id, started_at, seq, state) VALUES ($1, 'OLD', $2, 1, $3)`,
      [run.runId, run.startedAt, run],
    );
    const history = await cli(["history", "--json", "--store", url]);
    expect(history.code, history.stderr).toBe(0);
    expect(JSON.parse(history.stdout)).toMatchObject([
      { epicId: "OLD", runId: run.runId, agents: [{ domain: "api", status: "pending" }] },
    ]);
    const versions = await server.sql(
      name,
      "SELECT max(version) AS v FROM parallel_progress.schema_migrations",
    );
    expect(versions).toEqual([{ v: LATEST_VERSION }]);
  });

  it("closes a run abandoned by init --force: history shows it abandoned, with its end", async () => {
    const { url } = await server.createDatabase("force");
    const env = { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "EPIC-F" };
    expect((await cli(["init", "--domains", "api"], env)).code).toBe(0);
    const refused = await cli(["init", "--domains", "api"], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/still active.*--force/);
    const forced = await cli(["init", "--domains", "api,web", "--force"], env);
    expect(forced.code, forced.stderr).toBe(0);
    const entries = JSON.parse((await cli(["history", "--json"], env)).stdout) as {
      status: string;
      completedAt: string | null;
      durationMs: number | null;
    }[];
    expect(entries.map((e) => e.status)).toEqual(["active", "abandoned"]);
    expect(entries[1]!.completedAt).not.toBeNull();
    expect(entries[1]!.durationMs).toBeGreaterThanOrEqual(0);
    expect((await cli(["history"], env)).stdout).toMatch(/\tabandoned\n/);
  });
});
