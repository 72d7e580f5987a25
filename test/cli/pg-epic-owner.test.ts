import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/store/pg/migrate.js";
import { LATEST_VERSION } from "../../src/store/pg/migrations.js";
import { startServe } from "../serve/serve-process.js";
import { openEvents } from "../serve/sse-client.js";
import { type CliResult, keptChangeFiles, runCli, stopFlushers } from "../support/cli.js";
import { startFakeGitHub } from "../support/fake-github/index.js";
import { usePostgresCli } from "../support/pg-cli.js";
import {
  grantAsVersion6,
  type PostgresDatabases,
  postgresUnavailable,
  SUPERUSER_PASSWORD,
  sharedPostgres,
  withConnection,
} from "../support/postgres.js";

/**
 * An epic id belongs to one repository, whoever inserts the run (the CLI or plain SQL, under row-level
 * security), and a run keeps its repository; an issue number past GitHub's is bad input; agent text with a NUL is refused as the file store refuses it; "no run" names the epic and the
 * database.
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the epic-owner PostgreSQL CLI tests: ${skip}`);

const TAKEN = /is taken by the runs of another repository: choose another epic id/;

/** One line on stderr, no stack, no password. */
function oneLine(result: CliResult, ...secrets: string[]): void {
  expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  for (const secret of [SUPERUSER_PASSWORD, ...secrets]) expect(result.stderr).not.toContain(secret);
}

describe.skipIf(skip)("an epic id of one repository, NUL in agent text, and no run, on PostgreSQL", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_epic_owner");

  beforeAll(() => {
    server = sharedPostgres();
  });

  /** A call from a machine of its own (a folder), as `store`. */
  const call = async (store: string, args: string[]) =>
    runCli([...args, "--dir", await cli.folder(), "--store", store], { env: { GITHUB_TOKEN: "" } });

  /** An `update` of epic `epicId`'s api agent from a machine whose task.md has `github` setting `line`. */
  async function updateUnder(store: string, epicId: string, line: string) {
    const machine = await cli.folder();
    await writeFile(join(machine, "task.md"), `---\ngithub:\n  ${line}\n---\n`);
    return runCli(["update", "api", "--status", "in_progress", "--dir", machine, "--store", store], {
      env: { GITHUB_TOKEN: "", PARALLEL_PROGRESS_EPIC: epicId },
    });
  }

  /** A database, its owner's URL, and two roles granted one repository each (roles are the server's: unique names). */
  async function twoRepositories(prefix: string) {
    const { url, name } = await server.createDatabase(prefix);
    const suffix = randomBytes(3).toString("hex");
    const roles = { widgets: `agw_${suffix}`, thing: `agx_${suffix}` };
    const urls: Record<string, string> = {};
    for (const [repo, role] of [
      ["acme/widgets", roles.widgets],
      ["other/thing", roles.thing],
    ] as const) {
      const password = `${role}-pw`;
      await server.sql(name, `CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      const grant = await runCli(["db", "grant", role, "--repo", repo, "--store", url]);
      expect(grant.code, grant.stderr).toBe(0);
      urls[repo] = server.url(name, { name: role, password });
    }
    return { url, name, widgets: urls["acme/widgets"]!, thing: urls["other/thing"]! };
  }

  it("refuses another repository's role a run of an epic id in use, by the CLI and by plain SQL", async () => {
    const { url, name, widgets } = await twoRepositories("epic_owner");
    const init = await call(url, ["init", "--epic", "OTHER", "--domains", "api", "--repo", "other/thing"]);
    expect(init.code, init.stderr).toBe(0);

    const intruder = await call(widgets, [
      "init",
      "--epic",
      "OTHER",
      "--domains",
      "intruder",
      "--repo",
      "acme/widgets",
    ]);
    expect(intruder.code).toBe(2);
    oneLine(intruder, "-pw", "other/thing");
    expect(intruder.stderr).toMatch(TAKEN);
    expect(intruder.stderr).toContain('epic "OTHER"');

    // The owner's run is still the epic's run.
    const status = await call(url, ["status", "--json", "--epic", "OTHER"]);
    expect(JSON.parse(status.stdout).agents.map((a: { domain: string }) => a.domain)).toEqual(["api"]);
    const update = await call(url, ["update", "api", "--status", "in_progress", "--epic", "OTHER"]);
    expect(update.code, update.stderr).toBe(0);

    // Plain SQL as the intruding role: a new run, or its own run moved to the epic, are refused alike.
    const own = await call(widgets, ["init", "--epic", "MINE", "--domains", "a", "--repo", "acme/widgets"]);
    expect(own.code, own.stderr).toBe(0);
    const client = new pg.Client({ connectionString: widgets });
    await client.connect();
    try {
      const insert = client.query(
        `INSERT INTO parallel_progress.runs (run_id, epic_id, repo, started_at, seq, event, run_state)
         VALUES ('r-sql', 'OTHER', 'acme/widgets', now(), 0, 'x', '{}')`,
      );
      await expect(insert).rejects.toMatchObject({ code: "PPE01", message: expect.stringMatching(TAKEN) });
      const move = client.query("UPDATE parallel_progress.runs SET epic_id = 'OTHER' WHERE epic_id = 'MINE'");
      await expect(move).rejects.toMatchObject({ code: "PPE01" });
    } finally {
      await client.end();
    }
    const runs = await server.sql(name, "SELECT epic_id, repo FROM parallel_progress.runs ORDER BY id");
    expect(runs).toEqual([
      { epic_id: "OTHER", repo: "other/thing" },
      { epic_id: "MINE", repo: "acme/widgets" },
    ]);
  });

  it("keeps a local run's epic id (no repository) from a repository's role; a repository's next run is its own", async () => {
    const { url, widgets } = await twoRepositories("epic_local");
    expect((await call(url, ["init", "--epic", "LOCAL", "--domains", "api"])).code).toBe(0);
    const intruder = await call(widgets, [
      "init",
      "--epic",
      "LOCAL",
      "--domains",
      "x",
      "--repo",
      "acme/widgets",
    ]);
    expect(intruder.code).toBe(2);
    expect(intruder.stderr).toMatch(TAKEN);
    // The owner, too, keeps an epic id to its repository: a run of another is refused.
    const owner = await call(url, ["init", "--epic", "LOCAL", "--force", "--domains", "x", "--repo", "a/b"]);
    expect(owner.code).toBe(2);
    expect(owner.stderr).toMatch(TAKEN);

    // The same repository starts the epic's next run as before (the rule compares repositories as GitHub does).
    for (const repo of ["acme/widgets", "Acme/Widgets"]) {
      const again = await call(widgets, ["init", "--epic", "W", "--force", "--domains", "a", "--repo", repo]);
      expect(again.code, again.stderr).toBe(0);
    }
    const finalize = await call(widgets, ["finalize", "--epic", "W"]);
    expect(finalize.code, finalize.stderr).toBe(0);
    const next = await call(widgets, ["init", "--epic", "W", "--domains", "a", "--repo", "acme/widgets"]);
    expect(next.code, next.stderr).toBe(0);
  });

  it("refuses another repository for a run that has one, issue or not: the epic stays its repository's", async () => {
    const { url, name, widgets } = await twoRepositories("epic_move");
    const init = await call(url, ["init", "--epic", "MV2", "--domains", "api", "--repo", "acme/widgets"]);
    expect(init.code, init.stderr).toBe(0);
    const runs = () => server.sql(name, "SELECT run_id, repo, seq FROM parallel_progress.runs ORDER BY id");
    const before = await runs();

    const moved = await call(url, [
      "log",
      "api",
      "hello",
      "--repo",
      "other/thing",
      "--issue",
      "5",
      "--epic",
      "MV2",
    ]);
    expect(moved.code).toBe(2);
    oneLine(moved);
    expect(moved.stderr).toMatch(
      /--repo names other\/thing, but run \S+ \(epic MV2\) belongs to acme\/widgets: a run stays in one repository/,
    );
    expect(await runs()).toEqual(before);
    // task.md on another machine naming another repository does not move it either (its repository was
    // given by a flag, which wins over task.md): the change is made there, with one warning.
    const edited = await updateUnder(url, "MV2", "repo: other/thing");
    expect(edited.code, edited.stderr).toBe(0);
    oneLine(edited);
    expect(edited.stderr).toMatch(/task\.md github\.repo "other\/thing" \(the run's: "acme\/widgets"\)/);
    expect((await runs()).map((row) => row.repo)).toEqual(["acme/widgets"]);

    // GITHUB_REPOSITORY of another repository (a CI machine) moves nothing; the run takes its issue.
    const ci = await runCli(["log", "api", "from CI", "--issue", "5", "--dir", await cli.folder()], {
      env: {
        GITHUB_TOKEN: "",
        GITHUB_REPOSITORY: "other/thing",
        PARALLEL_PROGRESS_STORE: url,
        PARALLEL_PROGRESS_EPIC: "MV2",
      },
    });
    expect(ci.code, ci.stderr).toBe(0);
    expect((await runs()).map((run) => run.repo)).toEqual(["acme/widgets"]);
    // The repository's role still sees the run as the epic's latest.
    const seen = await call(widgets, ["status", "--json", "--epic", "MV2"]);
    expect(seen.code, seen.stderr).toBe(0);
    const status = JSON.parse(seen.stdout) as { runId: string; repo: string; issueNumber: number };
    expect([status.runId, status.repo, status.issueNumber]).toEqual([before[0]!.run_id, "acme/widgets", 5]);
  });

  it("refuses an issue number past GitHub's 32-bit ones as the file store does (exit 2, one line), not as an internal error", async () => {
    const { url, name } = await server.createDatabase("epic_big_issue");
    const init = await call(url, ["init", "--epic", "BIG", "--domains", "api", "--issue", "3000000000"]);
    expect(init.code).toBe(2);
    oneLine(init);
    expect(init.stderr).toContain(
      '--issue must be at most 2147483647 (GitHub\'s issue numbers are 32-bit), got "3000000000"',
    );

    // Refused before the database is touched (not even migrated); the epic's first run starts after.
    expect((await call(url, ["init", "--epic", "BIG", "--domains", "api"])).code).toBe(0);
    const edited = await updateUnder(url, "BIG", "issue_number: 3000000000");
    expect(edited.code).toBe(2);
    oneLine(edited);
    expect(edited.stderr).toMatch(
      /task\.md: github\.issue_number must be at most 2147483647 .*got 3000000000/,
    );
    const largest = await call(url, ["log", "api", "x", "--epic", "BIG", "--issue", "2147483647"]);
    expect(largest.code, largest.stderr).toBe(0);
    expect(await server.sql(name, "SELECT issue_number FROM parallel_progress.runs")).toEqual([
      { issue_number: 2147483647 },
    ]);
  });

  it("lets one of two repositories starting the same new epic at once have it", async () => {
    const { name, widgets, thing } = await twoRepositories("epic_race");
    for (let round = 0; round < 3; round++) {
      const epic = `RACE-${round}`;
      const [a, b] = await Promise.all([
        call(widgets, ["init", "--epic", epic, "--domains", "a", "--repo", "acme/widgets"]),
        call(thing, ["init", "--epic", epic, "--domains", "b", "--repo", "other/thing"]),
      ]);
      expect([a.code, b.code].sort()).toEqual([0, 2]);
      const loser = a.code === 2 ? a : b;
      oneLine(loser);
      expect(loser.stderr).toMatch(TAKEN);
      const runs = await server.sql(name, "SELECT repo FROM parallel_progress.runs WHERE epic_id = $1", [
        epic,
      ]);
      expect(runs).toEqual([{ repo: a.code === 0 ? "acme/widgets" : "other/thing" }]);
    }
  });

  it("grants a repository as GitHub names it, case aside: a role sees its runs whatever case they were started with", async () => {
    const { url, name, widgets, thing } = await twoRepositories("epic_case");
    // The owner starts a run with the repository as GITHUB_REPOSITORY spells it; the role was granted
    // it in lower case.
    const owners = await call(url, ["init", "--epic", "CASE", "--domains", "api", "--repo", "Acme/Widgets"]);
    expect(owners.code, owners.stderr).toBe(0);
    const seen = await call(widgets, ["status", "--json", "--epic", "CASE"]);
    expect(seen.code, seen.stderr).toBe(0);
    expect(JSON.parse(seen.stdout).agents.map((a: { domain: string }) => a.domain)).toEqual(["api"]);
    const update = await call(widgets, ["update", "api", "--status", "in_progress", "--epic", "CASE"]);
    expect(update.code, update.stderr).toBe(0);
    const own = await call(widgets, ["init", "--epic", "CASE-2", "--domains", "a", "--repo", "ACME/WIDGETS"]);
    expect(own.code, own.stderr).toBe(0);
    // The other repository's role still sees neither.
    expect(JSON.parse((await call(thing, ["history", "--json"])).stdout)).toEqual([]);

    // Revoked as GitHub names it too: the role sees nothing more.
    const history = JSON.parse((await call(widgets, ["history", "--json"])).stdout) as { epicId: string }[];
    expect(history.map((entry) => entry.epicId)).toEqual(["CASE-2", "CASE"]);
    const role = new URL(widgets).username;
    expect((await runCli(["db", "revoke", role, "--repo", "ACME/widgets", "--store", url])).code).toBe(0);
    expect(
      await server.sql(name, "SELECT repo FROM parallel_progress.grants WHERE role_name = $1", [role]),
    ).toEqual([]);
    expect(JSON.parse((await call(widgets, ["history", "--json"])).stdout)).toEqual([]);
    // A revoke that takes nothing away (a typo in the repository) says so, rather than "revoked".
    const again = await runCli(["db", "revoke", role, "--repo", "acme/widgetz", "--store", url]);
    expect(again.code).toBe(2);
    oneLine(again);
    expect(again.stderr).toContain(`role ${JSON.stringify(role)} has no grant of acme/widgetz to revoke`);
  });

  it("grants a repository to a group role's members, as PostgreSQL grants the tables' privileges", async () => {
    const { url, name, thing } = await twoRepositories("epic_group");
    const suffix = randomBytes(3).toString("hex");
    const [group, member, outsider] = [`agg_${suffix}`, `agm_${suffix}`, `ago_${suffix}`];
    await server.sql(name, `CREATE ROLE ${group} NOLOGIN`);
    await server.sql(name, `CREATE ROLE ${member} LOGIN PASSWORD 'member-pw' IN ROLE ${group}`);
    await server.sql(name, `CREATE ROLE ${outsider} LOGIN PASSWORD 'outsider-pw' NOINHERIT IN ROLE ${group}`);
    const grant = await runCli(["db", "grant", group, "--repo", "acme/widgets", "--store", url]);
    expect(grant.code, grant.stderr).toBe(0);
    const as = (role: string) =>
      server.url(name, { name: role, password: role === member ? "member-pw" : "outsider-pw" });
    const init = await call(as(member), [
      "init",
      "--epic",
      "GROUP",
      "--domains",
      "api",
      "--repo",
      "acme/widgets",
    ]);
    expect(init.code, init.stderr).toBe(0);
    const seen = await call(as(member), ["history", "--json"]);
    expect(JSON.parse(seen.stdout).map((entry: { epicId: string }) => entry.epicId)).toEqual(["GROUP"]);
    // A member that does not inherit the group's privileges, and another repository's role, see nothing.
    expect((await call(as(outsider), ["status", "--epic", "GROUP"])).code).toBe(2);
    expect(JSON.parse((await call(thing, ["history", "--json"])).stdout)).toEqual([]);
  });

  it("lets a granted role run db migrate on a schema already up to date: nothing to do, exit 0", async () => {
    const { widgets } = await twoRepositories("epic_current");
    const migrated = await call(widgets, ["db", "migrate"]);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stderr).toBe("");
    expect(migrated.stdout).toBe(`schema version ${LATEST_VERSION}\n`);
  });

  it("tells a role that may not migrate an older schema to have its owner run db migrate, not db grant", async () => {
    // A database of an older version (as before the owner migrated it for a new release).
    const { url, name } = await server.createDatabase("epic_behind");
    await withConnection(url, (client) => migrate(client, 6));
    const role = `agw_${randomBytes(3).toString("hex")}`;
    await server.sql(name, `CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw'`);
    await grantAsVersion6(server, name, role, ["acme/widgets"]);
    const widgets = server.url(name, { name: role, password: `${role}-pw` });
    for (const args of [
      ["init", "--epic", "OLD", "--domains", "api", "--repo", "acme/widgets"],
      ["db", "migrate"],
    ]) {
      const refused = await call(widgets, args);
      expect(refused.code).toBe(2);
      oneLine(refused, "-pw");
      expect(refused.stderr).toContain(
        `this release needs schema version ${LATEST_VERSION}, which this role may not migrate to: run \`parallel-progress db migrate\` as the schema's owner`,
      );
      expect(refused.stderr).not.toContain("db grant");
    }
    const migrated = await call(url, ["db", "migrate"]);
    expect(migrated.code, migrated.stderr).toBe(0);
    const init = await call(widgets, ["init", "--epic", "OLD", "--domains", "api", "--repo", "acme/widgets"]);
    expect(init.code, init.stderr).toBe(0);
  });

  it("refuses a merge summary with a NUL (exit 2, the run unfinalized) and reads a UTF-16 summary file", async () => {
    const { url } = await server.createDatabase("nul");
    const dir = await cli.folder();
    const run = (args: string[]) => runCli([...args, "--dir", dir, "--store", url, "--epic", "E-NUL"]);
    expect((await run(["init", "--domains", "api"])).code).toBe(0);
    const nul = join(dir, "sum.md");
    await writeFile(nul, "merged\u0000evil\n");
    const refused = await run(["finalize", "--summary-file", nul]);
    expect(refused.code).toBe(2);
    oneLine(refused);
    expect(refused.stderr).toContain(
      `--summary-file ${JSON.stringify(nul)} may not contain NUL characters (U+0000), got one at character 7: "merged\\u0000evil\\n": save it as UTF-8 text`,
    );
    expect(JSON.parse((await run(["status", "--json"])).stdout).completedAt).toBeNull();

    // PowerShell's `>` writes UTF-16 LE with a byte order mark.
    const wide = join(dir, "wide.md");
    await writeFile(
      wide,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("merged ✓ 🚀\nall green\n", "utf16le")]),
    );
    const finalized = await run(["finalize", "--summary-file", wide]);
    expect(finalized.code, finalized.stderr).toBe(0);
    const markdown = (await run(["status", "--markdown"])).stdout;
    expect(markdown).toContain("merged ✓ 🚀");
    expect(markdown).toContain("all green");
  });

  it("takes a password the server asks for and no one gave for a configuration mistake, not a database down", async () => {
    const { url } = await server.createDatabase("nopassword");
    const dir = await cli.folder();
    const init = await runCli(["init", "--epic", "E-PW", "--domains", "api", "--store", url, "--dir", dir]);
    expect(init.code, init.stderr).toBe(0);
    // The server asks for a password (SCRAM): none in the URL, PGPASSWORD or a password file.
    const without = new URL(url);
    without.password = "";
    const env = { PGPASSWORD: undefined, PGPASSFILE: join(dir, "no-pgpass") };
    for (const args of [["update", "api", "--status", "in_progress"], ["status"]]) {
      const result = await runCli([...args, "--epic", "E-PW", "--store", without.href, "--dir", dir], {
        env,
      });
      expect(result.code, result.stderr).toBe(2);
      oneLine(result);
      expect(result.stderr).toContain(
        "authentication failed: the server asks for a password and none was given",
      );
      expect(result.stderr).not.toContain("not answering");
    }
    expect(await readdir(join(dir, ".parallel-progress", "pending")).catch(() => [])).toEqual([]);
  });

  it("takes the password from the password file (PGPASSFILE, ~/.pgpass) quietly, and ignores one others may read", async () => {
    const { url } = await server.createDatabase("pgpass");
    const dir = await cli.folder();
    const init = await runCli(["init", "--epic", "E-PF", "--domains", "api", "--store", url, "--dir", dir]);
    expect(init.code, init.stderr).toBe(0);
    const given = new URL(url);
    const without = new URL(url);
    without.password = "";
    const file = join(dir, "pgpass");
    await writeFile(
      file,
      `${given.hostname}:${given.port}:*:${given.username}:${decodeURIComponent(given.password)}\n`,
      {
        mode: 0o600,
      },
    );
    const env = { PGPASSWORD: undefined, PGPASSFILE: file };
    const status = await runCli(["status", "--epic", "E-PF", "--store", without.href, "--dir", dir], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toBe(""); // no warning of pg's (its own reading of the file is deprecated)
    // The file's password is a secret as the URL's is: masked in agents' text (in no URL or environment).
    const password = decodeURIComponent(given.password);
    const quoting = ["--epic", "E-PF", "--store", without.href, "--dir", dir];
    expect(
      (await runCli(["fail", "api", "--error", `psql: password ${password} rejected`, ...quoting], { env }))
        .code,
    ).toBe(0);
    const shown = await runCli(["status", "--json", ...quoting], { env });
    expect(shown.stdout).toContain("psql: password *** rejected");
    expect(shown.stdout).not.toContain(password);
    // And refused in a name, as PGPASSWORD's is (a name is not masked: it would be posted as it is).
    const named = await runCli(["add", "--domains", `web,x${password}`, ...quoting], { env });
    expect(named.code).toBe(2);
    expect(named.stderr).toBe(
      'parallel-progress: error: domains: a name may not hold a token or password (it would be shown on the issue), got "x***"\n',
    );
    // Nor echoed by a message once the store was reached (typed where a name goes).
    for (const args of [
      ["update", password, "--status", "in_progress", ...quoting],
      ["status", "--epic", `Q${password}`, "--store", without.href, "--dir", dir],
    ]) {
      const echoed = await runCli(args, { env });
      expect(echoed.code).toBe(2);
      expect(echoed.stderr).toContain("***");
      expect(echoed.stderr).not.toContain(password);
    }
    // serve's warning and page, and the db commands (a role or repository typed as it), likewise.
    const serve = await startServe(
      ["--epic", `Q${password}`, "--store", without.href, "--dir", dir, "--port", "0"],
      env,
    );
    try {
      const stream = await openEvents(`${serve.url}events`);
      const snapshot = JSON.stringify(await stream.next((event) => event.event === "snapshot"));
      stream.close();
      expect(snapshot).toContain("Q***");
      expect(snapshot).not.toContain(password);
    } finally {
      await serve.stop();
    }
    expect((await serve.done).stderr).toContain('epic "Q***"');
    expect((await serve.done).stderr).not.toContain(password);
    const grantRole = await runCli(["db", "grant", password, "--repo", "a/b", "--store", without.href], {
      env,
    });
    expect(grantRole.code).toBe(2);
    expect(grantRole.stderr).toContain('role "***" does not exist');
    const grantRepo = await runCli(
      ["db", "grant", "postgres", "--repo", `o/${password}`, "--store", without.href],
      {
        env,
      },
    );
    expect(grantRepo.code).toBe(2);
    expect(grantRepo.stderr).toContain("--repo must not hold the database's password");
    expect(grantRepo.stderr).not.toContain(password);
    // init's warnings of task.md's keys, said once the store was reached (a key named after it).
    const other = await cli.folder();
    await writeFile(join(other, "task.md"), `---\ngithub:\n  x_${password}: 1\n---\n`);
    const warned = await runCli(
      ["init", "--epic", "E-PF2", "--domains", "api", "--store", without.href, "--dir", other],
      {
        env,
      },
    );
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toContain("github.x_***");
    expect(warned.stderr).not.toContain(password);
    // And its refusals of task.md's values (init reads task.md before it reaches the store).
    await writeFile(join(other, "task.md"), `---\ngithub:\n  comment_mode: ${password}\n---\n`);
    const refused = await runCli(
      ["init", "--epic", "E-PF3", "--domains", "api", "--store", without.href, "--dir", other],
      { env },
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("***");
    expect(refused.stderr).not.toContain(password);
    // Readable by others: ignored, as libpq ignores it; the password is then missing (one line, exit 2).
    await chmod(file, 0o644);
    const open = await runCli(["status", "--epic", "E-PF", "--store", without.href, "--dir", dir], { env });
    expect(open.code).toBe(2);
    oneLine(open);
    expect(open.stderr).toContain("the server asks for a password and none was given");
  });

  it("masks the database's password in agents' text, as it masks a GitHub token", async () => {
    const { url } = await server.createDatabase("maskpw");
    const dir = await cli.folder();
    const env = {
      PARALLEL_PROGRESS_STORE: url,
      PARALLEL_PROGRESS_EPIC: "E-MASK",
      PGPASSWORD: "pg-env-secret-pw",
    };
    const run = (args: string[]) => runCli([...args, "--dir", dir], { env });
    expect((await run(["init", "--domains", "api,web"])).code).toBe(0);
    const leaked = `psql: connection to ${url} failed; PGPASSWORD=pg-env-secret-pw`;
    expect((await run(["fail", "api", "--error", leaked])).code).toBe(0);
    expect((await run(["log", "web", leaked])).code).toBe(0);
    const status = await run(["status", "--json"]);
    for (const secret of [SUPERUSER_PASSWORD, "pg-env-secret-pw"])
      expect(status.stdout).not.toContain(secret);
    expect(status.stdout).toContain("PGPASSWORD=***");
  });

  it("keeps no token only gh gives in the database: agents' text quoting it is masked before it is stored", async () => {
    const token = "f63dc0123456789abcdef0123456789abcdef012";
    const gh = await startFakeGitHub({ tokens: { [token]: "octo-bot" } });
    const { url, name } = await server.createDatabase("ghonly");
    const dir = await cli.folder();
    try {
      await mkdir(join(dir, "bin"));
      await writeFile(join(dir, "bin", "gh"), `#!/bin/sh\necho ${token}\n`, { mode: 0o755 });
      const env = {
        PATH: `${join(dir, "bin")}${delimiter}${process.env.PATH ?? ""}`,
        GITHUB_API_URL: gh.url,
        PARALLEL_PROGRESS_STORE: url,
        PARALLEL_PROGRESS_EPIC: "E-GH",
      };
      const run = (args: string[]) => runCli([...args, "--dir", dir], { env });
      expect((await run(["init", "--domains", "a,b,c", "--repo", "acme/widgets", "--issue", "7"])).code).toBe(
        0,
      );
      for (const args of [
        ["fail", "b", "--error", `curl: token ${token} rejected`],
        ["log", "a", `saw ${token}`],
        ["cancel", "c", "--reason", `revoked ${token}`],
        ["complete", "a", "--summary", `sum ${token}`],
        ["finalize", "--summary", `merged ${token}`],
      ]) {
        const done = await run(args);
        expect(done.code, done.stderr).toBe(0);
      }
      const holding = await server.sql(
        name,
        `SELECT 'runs' FROM parallel_progress.runs r WHERE r::text LIKE $1
         UNION ALL SELECT 'agents' FROM parallel_progress.agents a WHERE a::text LIKE $1
         UNION ALL SELECT 'events' FROM parallel_progress.events e WHERE e::text LIKE $1`,
        [`%${token.slice(0, 20)}%`],
      );
      expect(holding).toEqual([]);
      expect((await run(["status", "--json"])).stdout).toContain("curl: token *** rejected");
      // The database down: a change kept on this machine's disk is masked too (the run cannot be read).
      const away = await cli.away(env);
      const kept = await runCli(
        [
          "init",
          "--epic",
          "E-GH2",
          "--domains",
          "x",
          "--store",
          url,
          "--repo",
          "acme/widgets",
          "--issue",
          "7",
          "--dir",
          dir,
        ],
        { env },
      );
      expect(kept.code, kept.stderr).toBe(0);
      const logged = await runCli(["log", "x", `saw ${token}`, "--epic", "E-GH2", "--dir", dir], {
        env: away,
      });
      expect(logged.code, logged.stderr).toBe(0);
      const files = await keptChangeFiles(dir);
      expect(files).toHaveLength(1);
      const text = await readFile(join(dir, ".parallel-progress", "pending", files[0]!), "utf8");
      expect(text).toContain("saw ***");
      expect(text).not.toContain(token.slice(0, 20));
    } finally {
      await stopFlushers(dir);
      await gh.close();
    }
  });

  it("masks the password of a URL given only by --store, in the run and in a change kept on disk", async () => {
    const { url } = await server.createDatabase("maskflag");
    const dir = await cli.folder();
    const run = (args: string[], store = url) =>
      runCli([...args, "--store", store, "--epic", "E-FLAG", "--dir", dir], { env: {} });
    expect((await run(["init", "--domains", "api,web"])).code).toBe(0);
    const leaked = `psql: connection to ${url} failed`;
    expect((await run(["log", "web", leaked])).code).toBe(0);
    const status = await run(["status", "--json"]);
    expect(status.stdout).not.toContain(SUPERUSER_PASSWORD);
    expect(status.stdout).toContain("***");
    // The database down (a closed port, same password): the change is kept on disk, masked.
    const down = url.replace(/:(\d+)\//, ":1/");
    expect((await run(["fail", "api", "--error", leaked], down)).code).toBe(0);
    const kept = await keptChangeFiles(dir);
    expect(kept).toHaveLength(1);
    const text = await readFile(join(dir, ".parallel-progress", "pending", kept[0]!), "utf8");
    expect(text).not.toContain(SUPERUSER_PASSWORD);
    expect(text).toContain("***");
  });

  it("says which epic and database had no run, without the password", async () => {
    const { url } = await server.createDatabase("norun");
    // A folder that is not there (status creates nothing), named in no message.
    const nowhere = join(tmpdir(), `pp-nowhere-${randomBytes(6).toString("hex")}`);
    const missing = await runCli(["status", "--epic", "NOPE", "--store", url, "--dir", nowhere]);
    expect(missing.code).toBe(2);
    oneLine(missing);
    expect(missing.stderr).toContain(
      `no run of epic "NOPE" in postgresql://postgres@127.0.0.1:${server.port}/${new URL(url).pathname.slice(1)}: start one with`,
    );
    expect(missing.stderr).not.toContain(nowhere);
  });
});
