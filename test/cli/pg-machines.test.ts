import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli, stopFlushers, waitFor } from "../support/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../support/fake-github/index.js";
import { type Machine, machinesUnavailable, startMachine } from "../support/machine.js";
import {
  postgresUnavailable,
  SUPERUSER_PASSWORD,
  startPostgres,
  type TestPostgres,
} from "../support/postgres.js";

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL CLI tests: ${skip}`);
const noMachines = skip ? null : await machinesUnavailable();
if (noMachines) console.warn(`skipping the PostgreSQL tests on simulated machines: ${noMachines}`);

const TOKEN = "ghp_pgmachines";

/** A "machine": a directory of its own (no task.md), the store and epic in its environment. */
async function machine(dirs: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pp-machine-"));
  dirs.push(dir);
  return dir;
}

async function pendingFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, ".parallel-progress", "pending")).catch(() => [] as string[])).filter((n) =>
    n.endsWith(".json"),
  );
}

describe.skipIf(skip)("the CLI with a PostgreSQL store", () => {
  let server: TestPostgres;
  let gh: FakeGitHub;
  const dirs: string[] = [];
  const machines: Machine[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    gh = await startFakeGitHub({ tokens: { [TOKEN]: "octo-bot" } });
  }, 120_000);
  afterAll(async () => {
    for (const m of machines) await m.destroy();
    for (const dir of dirs) {
      await stopFlushers(dir);
      await rm(dir, { recursive: true, force: true });
    }
    await gh?.close();
    await server?.destroy();
  });

  const envFor = (url: string, epic: string) => ({
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: gh.url,
    PARALLEL_PROGRESS_STORE: url,
    PARALLEL_PROGRESS_EPIC: epic,
  });

  it("puts agents reporting from several machines into one run and one progress comment", async () => {
    const { url, name } = await server.createDatabase("machines");
    const env = envFor(url, "EPIC-M");
    const a = await machine(dirs);
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
    const others = [await machine(dirs), await machine(dirs), await machine(dirs)];
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
    const status = await runCli(["status", "--json", "--dir", await machine(dirs)], { env });
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
      () => gh.comments("acme/widgets", 123).some((c) => c.body.includes("100% (9/9 files)")),
      20_000,
    );
    expect(caughtUp).toBe(true);
    expect(gh.comments("acme/widgets", 123)).toHaveLength(1);
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
      (await runCli(["status", "--store", server.url(name), "--epic", "E", "--dir", await machine(dirs)]))
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
        await machine(dirs),
      ]);
      expect(result.code, `${url}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      for (const secret of ["hunter2-secret", "outsider-secret-pw", SUPERUSER_PASSWORD]) {
        expect(result.stderr + result.stdout).not.toContain(secret);
      }
    }
  });

  it("keeps changes on the machine's disk while the database is down and applies them once, in order", async () => {
    const { url, name } = await server.createDatabase("down");
    const env = envFor(url, "EPIC-D");
    const dir = await machine(dirs);
    const init = await runCli(["init", "--epic", "EPIC-D", "--domains", "api", "--dir", dir], { env });
    const agent = init.stdout.trim().split("\t")[1]!;
    await server.stopServer();
    try {
      for (let n = 1; n <= 3; n++) {
        const result = await runCli(
          ["update", agent, "--status", "in_progress", "--files", `${n}/9`, "--dir", dir],
          { env },
        );
        expect(result.code).toBe(0);
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
        expect(result.stderr).toMatch(/warning: .*not answering.*kept in/);
        expect(result.stderr).not.toContain(SUPERUSER_PASSWORD);
      }
      expect(await pendingFiles(dir)).toHaveLength(3);
    } finally {
      await server.start();
    }
    const next = await runCli(["log", agent, "back again", "--dir", dir], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(await pendingFiles(dir)).toHaveLength(0);
    const events = await server.sql<{ seq: number; event: string }>(
      name,
      "SELECT e.seq::int AS seq, e.event FROM parallel_progress.events e ORDER BY e.id",
    );
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      agents: { filesCompleted: number }[];
    };
    expect(status.agents[0]?.filesCompleted).toBe(3);
  });

  it("applies kept changes by the background writer once the database is back, with no further call", async () => {
    const { url, name } = await server.createDatabase("waiter");
    const env = envFor(url, "EPIC-W");
    const dir = await machine(dirs);
    const init = await runCli(["init", "--epic", "EPIC-W", "--domains", "api", "--dir", dir], { env });
    const agent = init.stdout.trim().split("\t")[1]!;
    await server.stopServer();
    try {
      for (let n = 1; n <= 2; n++) {
        const result = await runCli(
          ["update", agent, "--status", "in_progress", "--files", `${n}/5`, "--dir", dir],
          {
            env,
          },
        );
        expect(result.code).toBe(0);
      }
      expect(await pendingFiles(dir)).toHaveLength(2);
    } finally {
      await server.start();
    }
    const applied = await waitFor(async () => (await pendingFiles(dir)).length === 0, 40_000, 100);
    expect(applied).toBe(true);
    const events = await server.sql<{ seq: number }>(
      name,
      "SELECT seq::int AS seq FROM parallel_progress.events ORDER BY id",
    );
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
  }, 60_000);

  it("watch on one machine follows changes made on others (LISTEN/NOTIFY) and ends at finalize", async () => {
    const { url } = await server.createDatabase("watch");
    const env = envFor(url, "EPIC-WATCH");
    const [a, b] = [await machine(dirs), await machine(dirs)];
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

  it.skipIf(noMachines)(
    "loses nothing when the database restarts in the middle of a run (three machines)",
    async () => {
      const { url, name } = await server.createDatabase("restart");
      const env = envFor(url, "EPIC-R");
      const hosts = await Promise.all(["r1", "r2", "r3"].map(async (host) => startMachine(host)));
      machines.push(...hosts);
      const init = await hosts[0]!.cli(["init", "--epic", "EPIC-R", "--domains", "a,b,c"], env);
      expect(init.code, init.stderr).toBe(0);
      const agents = init.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t")[1]!);
      const updates = 5; // the restart comes after 4 of 15: most are still to come
      const reporting = Promise.all(
        hosts.map(async (host, i) => {
          for (let n = 1; n <= updates; n++) {
            const result = await host.cli(
              ["update", agents[i]!, "--status", "in_progress", "--files", `${n}/${updates}`],
              env,
            );
            expect(result.code, result.stderr).toBe(0);
          }
        }),
      );
      // Restart once some updates went through, while the others are still reporting.
      await waitFor(
        async () => {
          const [row] = await server.sql<{ n: number }>(
            name,
            "SELECT count(*)::int AS n FROM parallel_progress.events",
          );
          return (row?.n ?? 0) >= 4;
        },
        20_000,
        20,
      );
      await server.stopServer();
      await server.start();
      await reporting;
      for (const host of hosts) {
        const retried = await host.cli(["retry"], env);
        expect(retried.code, retried.stderr).toBe(0);
      }
      const [row] = await server.sql<{ n: number }>(
        name,
        "SELECT count(*)::int AS n FROM parallel_progress.events",
      );
      expect(row?.n).toBe(1 + 3 * updates);
      const status = JSON.parse((await hosts[1]!.cli(["status", "--json"], env)).stdout) as {
        agents: { filesCompleted: number }[];
      };
      expect(status.agents.map((a) => a.filesCompleted)).toEqual([updates, updates, updates]);
    },
  );

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
    expect(result.stdout).toContain("Overall: 100% (18/18 files)");
    expect(result.stdout).toMatch(/DEMO-MACHINES-\S+\t\S+\t/);
    expect(result.stdout).toMatch(/ {2}web\tcompleted\t/);
  }, 120_000);
});
