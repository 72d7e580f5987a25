import { beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli, waitFor } from "../support/cli.js";
import { usePostgresCli } from "../support/pg-cli.js";
import {
  type PostgresDatabases,
  postgresUnavailable,
  SUPERUSER_PASSWORD,
  sharedPostgres,
} from "../support/postgres.js";

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL CLI tests: ${skip}`);

describe.skipIf(skip)("the CLI with a PostgreSQL store", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_pgmachines");

  beforeAll(() => {
    server = sharedPostgres();
  });

  it("puts agents reporting from several machines into one run and one progress comment", async () => {
    const { url, name } = await server.createDatabase("machines");
    const env = cli.env(url, "EPIC-M");
    const a = await cli.folder();
    const init = await runCli(
      [
        "init",
        "--epic",
        "EPIC-M",
        "--domains",
        "api,web,docs",
        "--issue",
        "123",
        "--repo",
        "acme/widgets",
        "--dir",
        a,
      ],
      { env },
    );
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    const agents = init.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t")[1]!);
    expect(agents).toHaveLength(3);
    const others = [await cli.folder(), await cli.folder(), await cli.folder()];
    // Each machine reports for its own agent at the same time: 3 updates each, then completes.
    await Promise.all(
      others.map(async (dir, i) => {
        for (let n = 1; n <= 3; n++) {
          const result = await runCli(
            ["update", agents[i]!, "--status", "in_progress", "--files", `${n}/3`, "--dir", dir],
            {
              env,
            },
          );
          expect(result.code, result.stderr).toBe(0);
        }
        expect((await runCli(["complete", agents[i]!, "--dir", dir], { env })).code).toBe(0);
      }),
    );
    const status = await runCli(["status", "--json", "--dir", await cli.folder()], { env });
    const view = JSON.parse(status.stdout) as { agents: { status: string; filesCompleted: number }[] };
    expect(view.agents.map((agent) => [agent.status, agent.filesCompleted])).toEqual([
      ["completed", 3],
      ["completed", 3],
      ["completed", 3],
    ]);
    const [events] = await server.sql<{ n: number }>(
      name,
      "SELECT count(*)::int AS n FROM parallel_progress.events",
    );
    expect(events?.n).toBe(1 + 3 * 4);
    // The background writers bring the one comment to the latest state.
    const caughtUp = await waitFor(
      () => cli.gh.comments("acme/widgets", 123).some((c) => c.body.includes("100% (9/9 files)")),
      20_000,
    );
    expect(caughtUp).toBe(true);
    expect(cli.gh.comments("acme/widgets", 123)).toHaveLength(1);
  });

  it("refuses bad configuration with one line and exit 2, never printing the password", async () => {
    const { name } = await server.createDatabase("config");
    await server.sql(name, "CREATE ROLE outsider LOGIN PASSWORD 'outsider-secret-pw'");
    const cases: [string, RegExp][] = [
      [
        "postgres://user:hunter2-secret@[not-a-host/db",
        /--store must be a postgres:\/\/ or postgresql:\/\/ URL/,
      ],
      ["mysql://user:hunter2-secret@localhost/db", /--store must be a postgres:\/\/ or postgresql:\/\/ URL/],
      [server.url(name, { name: "postgres", password: "hunter2-secret" }), /authentication failed/],
      [
        server.url("no_such_db", { name: "postgres", password: SUPERUSER_PASSWORD }),
        /database "no_such_db" does not exist/,
      ],
      [server.url(name, { name: "outsider", password: "outsider-secret-pw" }), /no permission/],
      // libpq's sslmode passes through: this server has no TLS, so requiring it is refused.
      [`${server.url(name)}?sslmode=require`, /TLS: The server does not support SSL connections/],
    ];
    // The superuser makes the schema first, so that the outsider meets a schema it may not use.
    expect(
      (await runCli(["status", "--store", server.url(name), "--epic", "E", "--dir", await cli.folder()]))
        .code,
    ).toBe(2);
    for (const [url, message] of cases) {
      const result = await runCli([
        "update",
        "a",
        "--status",
        "in_progress",
        "--store",
        url,
        "--epic",
        "E",
        "--dir",
        await cli.folder(),
      ]);
      expect(result.code, `${url}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      for (const secret of ["hunter2-secret", "outsider-secret-pw", SUPERUSER_PASSWORD]) {
        expect(result.stderr + result.stdout).not.toContain(secret);
      }
    }
  });

  it("watch on one machine follows changes made on others (LISTEN/NOTIFY) and ends at finalize", async () => {
    const { url } = await server.createDatabase("watch");
    const env = cli.env(url, "EPIC-WATCH");
    const [a, b] = [await cli.folder(), await cli.folder()];
    const init = await runCli(["init", "--epic", "EPIC-WATCH", "--domains", "api", "--dir", a], { env });
    const agent = init.stdout.trim().split("\t")[1]!;
    // A minute between polls: what it prints in the meantime, it learned from notifications.
    const watching = spawnCli(["watch", "--interval", "60000", "--dir", a], { env, timeoutMs: 60_000 });
    let out = "";
    watching.child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    expect(await waitFor(() => out.split("\n").length > 1, 20_000)).toBe(true);
    expect(
      (await runCli(["update", agent, "--status", "in_progress", "--files", "2/5", "--dir", b], { env }))
        .code,
    ).toBe(0);
    expect(await waitFor(() => out.includes("2/5"), 20_000)).toBe(true);
    expect((await runCli(["finalize", "--summary", "done", "--dir", b], { env })).code).toBe(0);
    const ended = await watching.done;
    expect(ended.code).toBe(0);
  }, 60_000);

  it("examples/several-machines.sh runs agents on three machines into one run", async () => {
    const { url } = await server.createDatabase("example");
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const result = await promisify(execFile)("bash", ["examples/several-machines.sh"], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        NO_COLOR: "1",
        PARALLEL_PROGRESS_STORE: url,
      },
      timeout: 120_000,
    });
    expect(result.stdout).toContain("Overall: 100% (10/10 files)");
    expect(result.stdout).toMatch(/DEMO-MACHINES-\S+\t\S+\t/);
    expect(result.stdout).toMatch(/ {2}web\tcompleted\t/);
  }, 120_000);

  it("examples/several-machines.sh with an issue: one progress comment, one summary, the issue at the run's end", async () => {
    const { url } = await server.createDatabase("example_issue");
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const before = cli.gh.comments("acme/widgets", 123).length;
    const result = await promisify(execFile)(
      "bash",
      ["examples/several-machines.sh", "--issue", "123", "--repo", "acme/widgets"],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: process.env.HOME ?? "/tmp",
          NO_COLOR: "1",
          ...cli.env(url, "DEMO-ISSUE"),
        },
        timeout: 120_000,
      },
    );
    expect(result.stdout).toContain("Overall: 100% (10/10 files)");
    const comments = cli.gh.comments("acme/widgets", 123).slice(before);
    const progress = comments.filter((c) => c.body.includes("<!-- parallel-progress:progress run="));
    const finals = comments.filter((c) => c.body.includes("<!-- parallel-progress:final run="));
    expect(progress).toHaveLength(1);
    expect(finals).toHaveLength(1);
    expect(progress[0]!.body).toContain("**Overall:** 100% (10/10 files)");
    expect(finals[0]!.body).toContain("docs done on machine-2");
  }, 120_000);
});
