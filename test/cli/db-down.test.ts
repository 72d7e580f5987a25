import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allFileText,
  type CliResult,
  flusherPids,
  keptChangeFiles,
  runCli,
  spawnCli,
  stopFlushers,
  waitFor,
} from "../support/cli.js";
import { machinesUnavailable } from "../support/machine.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { startFreezingProxy } from "../support/pg-freeze.js";
import {
  postgresUnavailable,
  SUPERUSER_PASSWORD,
  startPostgres,
  type TestPostgres,
} from "../support/postgres.js";

/**
 * Commands that write, while the database store is down (stopped), restarts or is unreachable (a loopback
 * port where nothing listens): an agent's change and finalize are kept on the machine's disk and applied
 * once, in order, when it answers; retry says what stays (exit 3); init, add and the read-only commands
 * say the database is not answering in one line (exit 1). The only PostgreSQL CLI file with a server of
 * its own (the others share the run's: test/support/postgres-template.ts), since it stops it.
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the database-down CLI tests: ${skip}`);
const noMachines = skip ? null : await machinesUnavailable();
if (noMachines) console.warn(`skipping the database restart on simulated machines: ${noMachines}`);

const TOKEN = "ghp_dbdown";
const FINAL = "## 🎉 Final Summary";

/** The changes kept on the machine's disk, oldest first (read while no writer can apply them). */
async function pending(dir: string): Promise<{ kind: string; summary?: string }[]> {
  const folder = join(dir, ".parallel-progress", "pending");
  return Promise.all(
    (await keptChangeFiles(dir)).map(
      async (name) => JSON.parse(await readFile(join(folder, name), "utf8")).change,
    ),
  );
}

/** One line on stderr, no stack, no password. */
function oneLine(result: CliResult): void {
  const lines = result.stderr.trim().split("\n");
  expect(lines, result.stderr).toHaveLength(1);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(result.stderr + result.stdout).not.toContain(SUPERUSER_PASSWORD);
}

describe.skipIf(skip)("the CLI while the database store is down", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });
  // After the server's hooks: its folders, background writers and machines go before the server (stack order).
  const cli = usePostgresCli(TOKEN, {
    issues: [201, 202, 203, 204, 205, 206].map((number) => ({ repo: "acme/widgets", number })),
  });
  const finals = (issue: number) =>
    cli.gh.comments("acme/widgets", issue).filter((c) => c.body.includes(FINAL));

  /**
   * A database, a machine (a folder of its own) and a run of one agent (or of `domains`) on them: what each
   * test starts from. Local, or posting to `issue` with --min-interval 0 (saved in the run: finalize's two
   * writes need not be a second apart here).
   */
  async function startRun(prefix: string, epic: string, issue?: number, domains = "api") {
    const { url, name } = await server.createDatabase(prefix);
    const env = cli.env(url, epic);
    const dir = await cli.folder();
    const posting =
      issue === undefined ? [] : ["--issue", String(issue), "--repo", "acme/widgets", "--min-interval", "0"];
    const init = await runCli(["init", "--epic", epic, "--domains", domains, ...posting, "--dir", dir], {
      env,
    });
    expect(init.code, init.stderr).toBe(0);
    return { name, env, dir, agent: init.stdout.trim().split("\t")[1]! };
  }

  /** startRun of a run of "parent", with its child "child". */
  async function startFamily(prefix: string, epic: string) {
    const run = await startRun(prefix, epic, undefined, "parent");
    const args = ["add", "--domains", "child", "--parent", "parent", "--dir", run.dir];
    const added = await runCli(args, { env: run.env });
    expect(added.code, added.stderr).toBe(0);
    return run;
  }

  /** `update` of `agent` to files 1/total, 2/total... `count` calls, one after the other, each exiting 0. */
  async function updates(
    agent: string,
    dir: string,
    env: Record<string, string>,
    count: number,
    total: number,
  ) {
    const results = [];
    for (let n = 1; n <= count; n++) {
      const args = ["update", agent, "--status", "in_progress", "--files", `${n}/${total}`, "--dir", dir];
      const result = await runCli(args, { env });
      expect(result.code, result.stderr).toBe(0);
      results.push(result);
    }
    return results;
  }

  it("keeps changes on the machine's disk while the database is down and applies them once, in order", async () => {
    const { name, env, dir, agent } = await startRun("down", "EPIC-D");
    await server.stopServer();
    const made: number[] = [];
    try {
      for (const result of await updates(agent, dir, env, 3, 9)) {
        expect(result.stderr.trim().split("\n")).toHaveLength(1);
        expect(result.stderr).toMatch(/warning: .*not answering.*kept in/);
        expect(result.stderr).not.toContain(SUPERUSER_PASSWORD);
      }
      expect(await keptChangeFiles(dir)).toHaveLength(3);
      // When the changes were made: the run takes those times, not when they are applied.
      const folder = join(dir, ".parallel-progress", "pending");
      for (const file of await keptChangeFiles(dir)) {
        const kept = JSON.parse(await readFile(join(folder, file), "utf8")) as { madeAt: number };
        made.push(kept.madeAt);
      }
    } finally {
      await server.start();
    }
    const next = await runCli(["log", agent, "back again", "--dir", dir], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(await keptChangeFiles(dir)).toHaveLength(0);
    const events = await server.sql<{ seq: number; event: string }>(
      name,
      "SELECT e.seq::int AS seq, e.event FROM parallel_progress.events e ORDER BY e.id",
    );
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      agents: { filesCompleted: number; startedAt: string }[];
    };
    expect(status.agents[0]?.filesCompleted).toBe(3);
    expect(status.agents[0]?.startedAt).toBe(new Date(made[0]!).toISOString());
  });

  it("applies kept changes by the background writer once the database is back, with no further call, for every epic kept in the directory", async () => {
    const { name, env, dir, agent } = await startRun("waiter", "EPIC-W");
    // A second epic's run in the same database, reported from the same directory: its own writer waits too.
    const other = cli.env(env.PARALLEL_PROGRESS_STORE!, "EPIC-W2");
    const init = await runCli(["init", "--epic", "EPIC-W2", "--domains", "api", "--dir", dir], {
      env: other,
    });
    expect(init.code, init.stderr).toBe(0);
    await server.stopServer();
    try {
      await updates(agent, dir, env, 2, 5);
      await updates("api", dir, other, 2, 5);
      expect(await keptChangeFiles(dir)).toHaveLength(4);
    } finally {
      await server.start();
    }
    const applied = await waitFor(async () => (await keptChangeFiles(dir)).length === 0, 40_000, 100);
    expect(applied).toBe(true);
    const events = await server.sql<{ epic: string; seq: number }>(
      name,
      "SELECT r.epic_id AS epic, e.seq::int AS seq FROM parallel_progress.events e JOIN parallel_progress.runs r ON r.id = e.run_id ORDER BY e.id",
    );
    for (const epic of ["EPIC-W", "EPIC-W2"]) {
      expect(events.filter((e) => e.epic === epic).map((e) => e.seq)).toEqual([1, 2, 3]);
    }
  }, 60_000);

  it("a background writer killed while it waits (a runner ending its job) is taken over by the next one", async () => {
    const { env, dir, agent } = await startRun("killed_waiter", "EPIC-K");
    await server.stopServer();
    try {
      await updates(agent, dir, env, 1, 5);
      // The writer this call started waits for the database (its claim made): killed, the claim stays.
      const claimed = async () =>
        (await readdir(join(dir, ".parallel-progress", "pending"))).some((name) =>
          name.startsWith(".waiter-"),
        );
      expect(await waitFor(claimed, 10_000, 50)).toBe(true);
      for (const pid of await flusherPids(dir)) process.kill(pid, "SIGKILL");
      expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 10_000, 50)).toBe(true);
      const complete = await runCli(["complete", agent, "--dir", dir], { env });
      expect(complete.code, complete.stderr).toBe(0);
      expect(await keptChangeFiles(dir)).toHaveLength(2);
    } finally {
      await server.start();
    }
    // No further call: the second call's writer took the dead one's claim over, and applies both.
    expect(await waitFor(async () => (await keptChangeFiles(dir)).length === 0, 60_000, 100)).toBe(true);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      agents: { status: string }[];
    };
    expect(status.agents[0]?.status).toBe("completed");
  }, 90_000);

  it("applies a kept change only to a database of the name it was made for, whatever its address", async () => {
    const { env, dir } = await startRun("own", "EPIC-O");
    const { url: otherUrl } = await server.createDatabase("elsewhere");
    const elsewhere = cli.env(otherUrl, "EPIC-O"); // another database, a run of the same epic id
    expect(
      (await runCli(["init", "--epic", "EPIC-O", "--domains", "api", "--dir", dir], { env: elsewhere })).code,
    ).toBe(0);
    // Kept while this machine could not reach its database (the same name at an address that does not answer).
    const away = await cli.away(env);
    const kept = await runCli(["update", "api", "--status", "in_progress", "--files", "1/4", "--dir", dir], {
      env: away,
    });
    expect(kept.code, kept.stderr).toBe(0);
    await stopFlushers(dir);
    const files = async (e: Record<string, string>) =>
      (
        JSON.parse((await runCli(["status", "--json", "--dir", dir], { env: e })).stdout) as {
          agents: { filesCompleted: number }[];
        }
      ).agents[0]!.filesCompleted;

    // A call to the other database from this directory leaves it kept: that run is not its run.
    expect((await runCli(["log", "api", "elsewhere", "--dir", dir], { env: elsewhere })).code).toBe(0);
    expect(await keptChangeFiles(dir)).toHaveLength(1);
    expect(await files(elsewhere)).toBe(0);
    // Its own database, at its address: applied there.
    expect((await runCli(["log", "api", "back", "--dir", dir], { env })).code).toBe(0);
    expect(await keptChangeFiles(dir)).toHaveLength(0);
    expect(await files(env)).toBe(1);
  });

  it.skipIf(noMachines)(
    "loses nothing when the database restarts in the middle of a run (three machines)",
    async () => {
      const { url, name } = await server.createDatabase("restart");
      const env = cli.env(url, "EPIC-R");
      const hosts = await Promise.all(["r1", "r2", "r3"].map(cli.machine));
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

  it("keeps finalize after the agents' changes, once, and the background writer applies it when the database is back", async () => {
    const { name, env, dir, agent } = await startRun("fin_down", "EPIC-F", 201);
    let finalizeMade = 0;
    await server.stopServer();
    try {
      const update = await runCli(
        ["update", agent, "--status", "in_progress", "--files", "2/3", "--dir", dir],
        {
          env,
        },
      );
      expect(update.code, update.stderr).toBe(0);
      const finalize = await runCli(["finalize", "--summary", "merged while down", "--dir", dir], { env });
      expect(finalize.code, finalize.stderr).toBe(0);
      oneLine(finalize);
      expect(finalize.stderr).toMatch(/warning: .*not answering.*the finalize is kept in .*\(2 waiting\)/);
      const again = await runCli(["finalize", "--summary", "second", "--dir", dir], { env });
      expect(again.code, again.stderr).toBe(0);
      oneLine(again);
      expect(again.stderr).toMatch(/a finalize is already kept/);
      expect(await pending(dir)).toEqual([
        { kind: "update", agent, status: "in_progress", filesCompleted: 2, filesTotal: 3 },
        { kind: "finalize", summary: "merged while down" },
      ]);
      // Read while the database is down: once it answers, the background writer applies and removes it.
      const [, finalizeFile] = await keptChangeFiles(dir);
      const kept = await readFile(join(dir, ".parallel-progress", "pending", finalizeFile!), "utf8");
      finalizeMade = (JSON.parse(kept) as { madeAt: number }).madeAt;
    } finally {
      await server.start();
    }
    // No further call: the background writer that finalize started applies both, in order, and posts once.
    expect(await waitFor(() => finals(201).length === 1, 60_000, 100)).toBe(true);
    expect(await waitFor(async () => (await keptChangeFiles(dir)).length === 0, 10_000, 100)).toBe(true);
    expect(finals(201)[0]!.body).toContain("merged while down");
    // In order: the update before the finalize (after it, the finalized run would have refused it).
    const [run] = await server.sql<{ completed: boolean; files: number }>(
      name,
      `SELECT r.completed_at IS NOT NULL AS completed, a.files_completed::int AS files
       FROM parallel_progress.runs r JOIN parallel_progress.agents a ON a.run_id = r.id`,
    );
    expect(run).toEqual({ completed: true, files: 2 });
    expect(await keptChangeFiles(dir, "set aside")).toEqual([]);
    // The run ended when the finalize was made, not when it was applied: history measures the work.
    const [history] = JSON.parse((await runCli(["history", "--json", "--dir", dir], { env })).stdout) as {
      completedAt: string;
    }[];
    expect(history!.completedAt).toBe(new Date(finalizeMade).toISOString());
    // finalize again once the database answers: nothing new.
    const later = await runCli(["finalize", "--summary", "x", "--dir", dir], { env });
    expect(later.code, later.stderr).toBe(0);
    await stopFlushers(dir);
    expect(finals(201)).toHaveLength(1);
  }, 120_000);

  it("in GitHub Actions, an agent change and finalize while the database is down exit 0 with one warning, no comment-url", async () => {
    const { env, dir, agent } = await startRun("actions_down", "EPIC-GHA");
    const output = join(dir, "github-output");
    await writeFile(output, "");
    const actions = { ...(await cli.away(env)), GITHUB_ACTIONS: "true", GITHUB_OUTPUT: output };
    for (const args of [["update", agent, "--status", "in_progress", "--files", "1/2"], ["finalize"]]) {
      const result = await runCli([...args, "--dir", dir], { env: actions });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
      expect(result.stderr).toMatch(/^::warning title=parallel-progress::.*not answering.*kept in/);
    }
    expect(await readFile(output, "utf8")).toBe("");
    await stopFlushers(dir);
  });

  it("retry while the database is down keeps what is kept (exit 3, one warning); retry applies it once it answers", async () => {
    const { env, dir, agent } = await startRun("retry_down", "EPIC-R", 202);
    // Unreachable from this machine (nothing listens on that port): no background writer can apply it.
    const away = await cli.away(env);
    expect((await runCli(["complete", agent, "--cost", "1.5", "--dir", dir], { env: away })).code).toBe(0);
    const finalize = await runCli(["finalize", "--summary", "kept", "--dir", dir], { env: away });
    expect(finalize.code, finalize.stderr).toBe(0);
    await stopFlushers(dir);
    const retry = await runCli(["retry", "--dir", dir], { env: away });
    expect(retry.code, retry.stderr).toBe(3);
    oneLine(retry);
    expect(retry.stderr).toMatch(/warning: .*not answering.*nothing was sent; 2 change\(s\) stay kept in/);
    expect(await keptChangeFiles(dir)).toHaveLength(2);
    // A name no agent can have, whatever the database says: refused at once, not kept.
    for (const name of [" ", "a\u0001b", "x".repeat(201)]) {
      const none = await runCli(["update", name, "--status", "in_progress", "--dir", dir], { env: away });
      expect(none.code).toBe(2);
      oneLine(none);
      expect(none.stderr).toMatch(/unknown agent ".*": give an agent id or domain/);
    }
    expect(await keptChangeFiles(dir)).toHaveLength(2);
    const dry = await runCli(["retry", "--dry-run", "--dir", dir], { env: away });
    expect(dry.code).toBe(3);
    oneLine(dry);

    // The database answers this time: status says what this machine keeps, and applies nothing.
    const looked = await runCli(["status", "--json", "--dir", dir], { env });
    expect(looked.code, looked.stderr).toBe(0);
    oneLine(looked);
    expect(looked.stderr).toMatch(/warning: 2 change\(s\) kept on this machine .* are not in the run yet/);
    expect((JSON.parse(looked.stdout) as { sync: { kept: number } }).sync.kept).toBe(2);
    expect(await keptChangeFiles(dir)).toHaveLength(2);

    const back = await runCli(["retry", "--dir", dir], { env });
    expect(back.code, back.stderr).toBe(0);
    expect(await keptChangeFiles(dir)).toHaveLength(0);
    expect(finals(202)).toHaveLength(1);
    expect(finals(202)[0]!.body).toContain("kept");
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      completedAt: string | null;
      agents: { status: string; costUsd: number | null }[];
    };
    expect(status.completedAt).not.toBeNull();
    expect(status.agents[0]).toMatchObject({ status: "completed", costUsd: 1.5 });
  }, 60_000);

  it("a database that stops answering once connected (a frozen host, a partition) ends the call: kept, exit 0; status exit 1", async () => {
    const { name, env, dir, agent } = await startRun("frozen", "EPIC-F");
    // The first statement of each connection gets no answer, the sockets stay open: only the client's
    // own wait for an answer ends the call (the server's statement_timeout never fires: it answered).
    const proxy = await startFreezingProxy(server.port, 1);
    const frozen = { ...env, PARALLEL_PROGRESS_STORE: proxy.url(env.PARALLEL_PROGRESS_STORE!) };
    try {
      const update = await runCli(
        ["update", agent, "--status", "in_progress", "--files", "2/5", "--dir", dir],
        {
          env: frozen,
        },
      );
      expect(update.code, update.stderr).toBe(0);
      oneLine(update);
      expect(update.stderr).toMatch(/warning: .*not answering.*kept in/);
      expect(await keptChangeFiles(dir)).toHaveLength(1);
      await stopFlushers(dir);
      const status = await runCli(["status", "--dir", dir], { env: frozen });
      expect(status.code).toBe(1);
      oneLine(status);
      expect(status.stderr).toMatch(/not answering/);
      expect(proxy.frozen).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
    // Answering again (reached directly): the kept change is applied, once.
    expect((await runCli(["log", agent, "answering", "--dir", dir], { env })).code).toBe(0);
    expect(await keptChangeFiles(dir)).toHaveLength(0);
    const agents = await server.sql<{ files: number }>(
      name,
      "SELECT files_completed::int AS files FROM parallel_progress.agents",
    );
    expect(agents).toEqual([{ files: 2 }]);
  }, 90_000);

  it("keeps no token on the machine's disk: agents' text quoting one is masked before it is kept", async () => {
    const { name, env, dir, agent } = await startRun("masked", "EPIC-M");
    const away = await cli.away(env);
    const said = `GITHUB_TOKEN=${TOKEN}`;
    const fail = await runCli(["fail", agent, "--error", `curl failed: ${said}`, "--dir", dir], {
      env: away,
    });
    expect(fail.code, fail.stderr).toBe(0);
    // A token typed where the agent goes (the environment's, or any of a token's shape) names no agent:
    // refused (exit 2, shown masked), nothing kept.
    const shaped = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    for (const ref of [TOKEN, shaped]) {
      const typed = await runCli(["log", ref, "hi", "--dir", dir], { env: away });
      expect(typed.code, typed.stderr).toBe(2);
      expect(typed.stderr).toContain('unknown agent "***"');
    }
    const finalize = await runCli(["finalize", "--summary", `merged; ${said}`, "--dir", dir], { env: away });
    expect(finalize.code, finalize.stderr).toBe(0);
    await stopFlushers(dir);
    expect(await keptChangeFiles(dir)).toHaveLength(2);
    expect(await allFileText(dir)).not.toContain(TOKEN);
    expect(await allFileText(dir)).not.toContain(shaped);

    const back = await runCli(["retry", "--dir", dir], { env });
    expect(back.code, back.stderr).toBe(0);
    const [run] = await server.sql<{ text: string }>(
      name,
      "SELECT r.run_state::text || (SELECT string_agg(a.state::text, '') FROM parallel_progress.agents a) AS text FROM parallel_progress.runs r",
    );
    expect(run!.text).toContain("curl failed: GITHUB_TOKEN=***");
    expect(run!.text).not.toContain(TOKEN);
  }, 60_000);

  it("judges a kept report on the database's clock, on a machine whose clock is behind it", async () => {
    const { env, dir, agent } = await startRun("skewed", "EPIC-S");
    const behind = join(dir, "clock-behind.cjs");
    await writeFile(behind, "const real = Date.now; Date.now = () => real() - 5000;\n");
    const skewed = { ...env, NODE_OPTIONS: `--require ${behind}` };
    const update = ["update", agent, "--status", "in_progress", "--files", "1/4", "--dir", dir];
    expect((await runCli(update, { env: skewed })).code).toBe(0);
    // Made after that report, but stamped 5 s earlier by this machine's clock.
    const away = await cli.away(skewed);
    expect((await runCli(["complete", agent, "--dir", dir], { env: away })).code).toBe(0);
    await stopFlushers(dir);
    const back = await runCli(["retry", "--dir", dir], { env: skewed });
    expect(back.code, back.stderr).toBe(0);
    const { agents } = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout);
    expect(agents.map((shown: { status: string }) => shown.status)).toEqual(["completed"]);
  }, 60_000);

  it("keeps an agent's name as given, even one that masking would change (a Basic credential's shape)", async () => {
    const domain = "basic auth-service-v2-migration";
    const { env, dir } = await startRun("basicname", "EPIC-B", undefined, domain);
    const away = await cli.away(env);
    const update = ["update", domain, "--status", "in_progress", "--files", "1/3", "--dir", dir];
    expect((await runCli(update, { env: away })).code).toBe(0);
    await stopFlushers(dir);
    const back = await runCli(["retry", "--dir", dir], { env });
    expect(back.code, back.stderr).toBe(0);
    const { agents } = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout);
    expect(
      agents.map((agent: { status: string; filesCompleted: number }) => [agent.status, agent.filesCompleted]),
    ).toEqual([["in_progress", 1]]);
  }, 60_000);

  it("applies a parent's complete kept on one machine once its child's, kept on another, is applied", async () => {
    const { env, dir } = await startFamily("children", "EPIC-C");
    const other = await cli.folder();
    const away = await cli.away(env);
    // In real time the child completed first (on the other machine), then the parent: both kept.
    expect((await runCli(["complete", "child", "--dir", other], { env: away })).code).toBe(0);
    expect((await runCli(["complete", "parent", "--dir", dir], { env: away })).code).toBe(0);
    await stopFlushers(dir);
    await stopFlushers(other);
    // The parent's machine reaches the database first: its complete waits for the child's (exit 3).
    const first = await runCli(["retry", "--dir", dir], { env });
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain("cannot be completed while its children are unfinished");
    expect(first.stderr).toContain("applied once its children's changes are");
    expect(await keptChangeFiles(dir)).toHaveLength(1);
    const dry = await runCli(["retry", "--dry-run", "--dir", dir], { env });
    expect(dry.code).toBe(3);
    expect(dry.stderr).toContain(
      "1 change(s) kept on this machine while the database did not answer are not in the run yet",
    );
    // A finalize made on that machine now waits behind it (in order), kept too.
    const finalize = await runCli(["finalize", "--summary", "done", "--dir", dir], { env });
    expect(finalize.code, finalize.stderr).toBe(0);
    expect(finalize.stderr).toMatch(
      /^parallel-progress: warning: 1 change\(s\) kept here wait for their agents' children's \(.*\): the finalize is kept/,
    );
    await stopFlushers(dir);
    expect(await keptChangeFiles(dir)).toHaveLength(2);
    expect((await runCli(["retry", "--dir", other], { env })).code).toBe(0);
    const second = await runCli(["retry", "--dir", dir], { env });
    expect(second.code, second.stderr).toBe(0);
    const view = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout);
    expect(
      view.agents.map((agent: { domain: string; status: string }) => [agent.domain, agent.status]),
    ).toEqual([
      ["parent", "completed"],
      ["child", "completed"],
    ]);
    expect(view.completedAt).not.toBeNull();
    expect(await keptChangeFiles(dir)).toHaveLength(0);
  }, 60_000);

  it("waits for a parent's children from when the database answers, and sets it aside 10 minutes after", async () => {
    const { env, dir } = await startFamily("childwait", "EPIC-W");
    const away = await cli.away(env);
    expect((await runCli(["complete", "parent", "--dir", dir], { env: away })).code).toBe(0);
    expect((await runCli(["log", "parent", "after", "--dir", dir], { env: away })).code).toBe(0);
    await stopFlushers(dir);
    const folder = join(dir, ".parallel-progress", "pending");
    const [name] = await keptChangeFiles(dir);
    const file = join(folder, name!);
    const first = await runCli(["retry", "--dir", dir], { env });
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain("applied once its children's changes are");
    // 10 minutes after it first waited: set aside, and what was kept after it applied.
    const waiting = JSON.parse(await readFile(file, "utf8"));
    expect(typeof waiting.waitingSince).toBe("number");
    await writeFile(file, JSON.stringify({ ...waiting, waitingSince: waiting.waitingSince - 10 * 60_000 }));
    const second = await runCli(["retry", "--dir", dir], { env });
    expect(second.stderr).toContain("cannot be applied");
    expect(await keptChangeFiles(dir)).toHaveLength(0);
    const view = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout);
    expect(JSON.stringify(view)).toContain("after");
  }, 60_000);

  it("sets aside what was kept for a run that another machine replaced meanwhile (init --force)", async () => {
    const { env, dir } = await startRun("replaced", "EPIC-X");
    const away = await cli.away(env);
    const update = ["update", "api", "--status", "in_progress", "--files", "1/3", "--dir", dir];
    expect((await runCli(update, { env: away })).code).toBe(0);
    expect((await runCli(["finalize", "--summary", "the old run's", "--dir", dir], { env: away })).code).toBe(
      0,
    );
    await stopFlushers(dir);
    // Another machine, which reaches the database, starts a new run of the epic (same domain).
    const other = await cli.folder();
    const force = ["init", "--epic", "EPIC-X", "--domains", "api", "--force", "--dir", other];
    expect((await runCli(force, { env })).code).toBe(0);
    const replacing = JSON.parse((await runCli(["status", "--json", "--dir", other], { env })).stdout) as {
      runId: string;
    };
    // That run is finalized and followed by a third: the reason names the run that replaced theirs (the
    // second), not the epic's latest.
    expect((await runCli(["finalize", "--dir", other], { env })).code).toBe(0);
    expect(
      (await runCli(["init", "--epic", "EPIC-X", "--domains", "api", "--dir", other], { env })).code,
    ).toBe(0);
    // status counts them (they wait here) and says the new run will not take them: made before it started.
    const looked = await runCli(["status", "--json", "--dir", dir], { env });
    expect(looked.stderr).toMatch(
      /2 change\(s\) kept on this machine .* they were made before this run started \(.*\), which takes no change made before it: .* sets them aside, not applied\n/,
    );
    expect((JSON.parse(looked.stdout) as { sync: { kept: number } }).sync.kept).toBe(2);

    const retry = await runCli(["retry", "--dir", dir], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toMatch(
      /not applied \(it belongs to a run that was replaced: run \S+, the epic's run when it was made \(.*\), was replaced by run \S+ \(started .*\)\)/,
    );
    expect(retry.stderr).toContain(`was replaced by run ${replacing.runId} (started `);
    expect(await keptChangeFiles(dir)).toEqual([]);
    expect(await keptChangeFiles(dir, "set aside")).toHaveLength(2);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      completedAt: string | null;
      agents: { filesCompleted: number }[];
    };
    expect(status.completedAt).toBeNull();
    expect(status.agents[0]!.filesCompleted).toBe(0);
  }, 60_000);

  /** The epic's runs as `history --json` lists them, newest first. */
  const historyOf = async (dir: string, env: Record<string, string>) =>
    JSON.parse((await runCli(["history", "--json", "--dir", dir], { env })).stdout) as {
      status: string;
      agents: { domain: string; status: string }[];
    }[];

  it("init applies the finalize this machine kept first: the run ends finalized, its summary on the issue, and the next run starts", async () => {
    const { env, dir } = await startRun("init_kept_fin", "EPIC-NEXT", 206);
    await server.stopServer();
    try {
      const finalize = await runCli(["finalize", "--summary", "the first run's", "--dir", dir], { env });
      expect(finalize.code, finalize.stderr).toBe(0);
      expect(finalize.stderr).toMatch(/the finalize is kept/);
      await stopFlushers(dir); // the next command comes before its background writer
    } finally {
      await server.start();
    }
    const posting = ["--issue", "206", "--repo", "acme/widgets", "--min-interval", "0"];
    const next = ["init", "--epic", "EPIC-NEXT", "--domains", "api", ...posting, "--dir", dir];
    const init = await runCli(next, { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toBe("");
    expect(await pending(dir)).toEqual([]);
    expect((await historyOf(dir, env)).map((run) => run.status)).toEqual(["active", "completed"]);
    expect(finals(206)).toHaveLength(1);
    expect(finals(206)[0]!.body).toContain("the first run's");
  }, 60_000);

  it("init --force applies this machine's kept reports to the run they were made for before it replaces it; while the database is down it is refused as before", async () => {
    const { env, dir } = await startRun("init_kept_force", "EPIC-FORCE", undefined, "api,web");
    const away = await cli.away(env);
    const update = ["update", "api", "--status", "in_progress", "--files", "1/3", "--dir", dir];
    expect((await runCli(update, { env: away })).code).toBe(0);
    expect((await runCli(["complete", "web", "--dir", dir], { env: away })).code).toBe(0);
    await stopFlushers(dir);
    const force = ["init", "--epic", "EPIC-FORCE", "--domains", "api", "--force", "--dir", dir];
    const refused = await runCli(force, { env: away });
    expect(refused.code).toBe(1);
    oneLine(refused);
    expect(refused.stderr).toMatch(/is not answering: .*; the run was not started/);
    expect(await keptChangeFiles(dir)).toHaveLength(2);

    const init = await runCli(force, { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toBe("");
    expect(await keptChangeFiles(dir)).toEqual([]);
    expect(await keptChangeFiles(dir, "set aside")).toEqual([]);
    const [, old] = await historyOf(dir, env);
    expect(old!.status).toBe("abandoned");
    expect(old!.agents.map(({ domain, status }) => [domain, status])).toEqual([
      ["api", "in_progress"],
      ["web", "completed"],
    ]);
  }, 60_000);

  it("add applies this machine's kept changes first, then adds", async () => {
    const { env, dir } = await startRun("add_kept", "EPIC-ADD");
    const away = await cli.away(env);
    const update = ["update", "api", "--status", "in_progress", "--files", "1/3", "--dir", dir];
    expect((await runCli(update, { env: away })).code).toBe(0);
    await stopFlushers(dir);
    const add = await runCli(["add", "--domains", "web", "--dir", dir], { env });
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toBe("");
    expect(await keptChangeFiles(dir)).toEqual([]);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      event: string;
      agents: { domain: string; status: string; filesCompleted: number }[];
    };
    // The add came after the change kept before it.
    expect(status.event).toMatch(/^Agent \S+ added$/);
    expect(
      status.agents.map(({ domain, status, filesCompleted }) => [domain, status, filesCompleted]),
    ).toEqual([
      ["api", "in_progress", 1],
      ["web", "pending", 0],
    ]);
  }, 60_000);

  it("a change kept before its epic had a run is counted and warned of while it waits, then set aside saying so; one kept for a run this machine never saw is applied", async () => {
    const { url } = await server.createDatabase("before_init");
    const env = cli.env(url, "EPIC-LATE");
    const dir = await cli.folder();
    // Another machine started EPIC-SEEN's run before the database went down; this one never saw it.
    const seenEnv = cli.env(url, "EPIC-SEEN");
    const seenDir = await cli.folder();
    const started = await runCli(["init", "--domains", "b", "--dir", await cli.folder()], { env: seenEnv });
    expect(started.code, started.stderr).toBe(0);
    await server.stopServer();
    try {
      const init = await runCli(["init", "--domains", "a", "--dir", dir], { env });
      expect(init.code).toBe(1);
      expect(init.stderr).toMatch(/the run was not started/);
      const update = await runCli(["update", "a", "--status", "in_progress", "--dir", dir], { env });
      expect(update.code, update.stderr).toBe(0);
      // Not promised to be applied: which run takes it, and when none does.
      expect(update.stderr).toContain(
        `(by the background writer, the next call, retry or finalize), to the run epic "EPIC-LATE" had when it was made: set aside, not applied, if the epic's run started after it (its init came later)`,
      );
      const seen = ["update", "b", "--status", "in_progress", "--files", "1/2", "--dir", seenDir];
      expect((await runCli(seen, { env: seenEnv })).code).toBe(0);
      await stopFlushers(dir);
      await stopFlushers(seenDir);
    } finally {
      await server.start();
    }
    // The database answers, showing no run of EPIC-LATE yet: the change waits, and the warning says for what.
    const early = await runCli(["retry", "--dir", dir], { env });
    expect(early.code).toBe(3);
    expect(early.stderr).toContain("set aside if its run started after them (its init came later");
    expect(await keptChangeFiles(dir)).toHaveLength(1);

    // init applies what this machine kept first: the database showing no run of the epic yet is no warning.
    const init = await runCli(["init", "--domains", "a", "--dir", dir], { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toBe("");
    // While it waits on this machine, status counts it and says the run will not take it.
    const looked = await runCli(["status", "--json", "--dir", dir], { env });
    expect((JSON.parse(looked.stdout) as { sync: { kept: number } }).sync.kept).toBe(1);
    expect(looked.stderr).toMatch(
      /warning: 1 change\(s\) kept on this machine .* it was made before this run started \(.*\), which takes no change made before it: the next change, `retry` or `finalize` sets it aside, not applied\n/,
    );
    const next = await runCli(["update", "a", "--status", "in_progress", "--files", "1/3", "--dir", dir], {
      env,
    });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/replaced/);
    expect(next.stderr).toMatch(
      /not applied \(no run of epic "EPIC-LATE" had started when it was made \(.*\): its run \S+ started after it \(.*: its init came later\) and takes no change made before it\): moved aside as change_\S+\.json\.rejected\n/,
    );
    expect(await keptChangeFiles(dir)).toEqual([]);
    const [aside] = await keptChangeFiles(dir, "set aside");
    const file = JSON.parse(await readFile(join(dir, ".parallel-progress", "pending", aside!), "utf8"));
    expect(file.setAside).toMatch(/^no run of epic "EPIC-LATE" had started when it was made/);
    const after = await runCli(["status", "--json", "--dir", dir], { env });
    expect((JSON.parse(after.stdout) as { sync: { kept: number } }).sync.kept).toBe(0);

    // The run this machine never saw existed when its change was made: it takes it.
    const retry = await runCli(["retry", "--dir", seenDir], { env: seenEnv });
    expect(retry.code, retry.stderr).toBe(0);
    expect(await keptChangeFiles(seenDir)).toEqual([]);
    const status = JSON.parse(
      (await runCli(["status", "--json", "--dir", seenDir], { env: seenEnv })).stdout,
    );
    expect(status.agents[0]).toMatchObject({ domain: "b", status: "in_progress", filesCompleted: 1 });
  }, 90_000);

  /** A run of two agents (api, web) started on one machine, and a second machine that reaches the database. */
  async function twoMachines(prefix: string, epic: string, issue?: number) {
    const { name, env, dir } = await startRun(prefix, epic, issue, "api,web");
    return { name, env, first: dir, second: await cli.folder() };
  }

  const statusOf = async (dir: string, env: Record<string, string>) =>
    JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      completedAt: string | null;
      agents: { domain: string; status: string; error: string | null }[];
    };

  it("applies changes kept before another machine's finalize to the finalized run: they came before its end", async () => {
    const { name, env, first, second } = await twoMachines("late", "EPIC-LATE", 205);
    // The second machine cannot reach the database: its agent's changes are kept on its disk.
    const away = await cli.away(env);
    const progress = ["update", "web", "--status", "in_progress", "--files", "1/2", "--dir", second];
    expect((await runCli(progress, { env: away })).code).toBe(0);
    expect((await runCli(["fail", "web", "--error", "boom", "--dir", second], { env: away })).code).toBe(0);
    await stopFlushers(second);
    // The first machine finalizes meanwhile.
    expect((await runCli(["complete", "api", "--dir", first], { env })).code).toBe(0);
    expect((await runCli(["finalize", "--summary", "merged", "--dir", first], { env })).code).toBe(0);
    const ended = (await statusOf(first, env)).completedAt;
    expect(ended).not.toBeNull();

    const retry = await runCli(["retry", "--verbose", "--dir", second], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toMatch(
      /2 change\(s\) kept while the database was down applied to the run finalized since/,
    );
    expect(retry.stderr).not.toMatch(/set aside|moved aside/);
    expect(await keptChangeFiles(second)).toEqual([]);
    expect(await keptChangeFiles(second, "set aside")).toEqual([]);
    const status = await statusOf(first, env);
    expect(status.completedAt).toBe(ended);
    expect(status.agents.find((a) => a.domain === "web")).toMatchObject({ status: "failed", error: "boom" });
    const events = await server.sql<{ seq: number }>(
      name,
      "SELECT seq::int AS seq FROM parallel_progress.events ORDER BY id",
    );
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // On the issue: the progress comment is brought up to date; the final summary is not posted again.
    const comments = () => cli.gh.comments("acme/widgets", 205).filter((c) => !c.body.includes(FINAL));
    expect(await waitFor(() => comments()[0]?.body.includes("boom") === true, 30_000, 100)).toBe(true);
    expect(comments()).toHaveLength(1);
    expect(finals(205)).toHaveLength(1);
    expect(finals(205)[0]!.body).not.toContain("boom");
  }, 60_000);

  it("sets aside a change made after the run ended, says why in its file, and warns on later calls until it is deleted", async () => {
    const { env, first, second } = await twoMachines("after_end", "EPIC-AFTER");
    expect((await runCli(["finalize", "--summary", "done", "--dir", first], { env })).code).toBe(0);
    const away = await cli.away(env);
    const update = ["update", "web", "--status", "in_progress", "--dir", second];
    expect((await runCli(update, { env: away })).code).toBe(0);
    await stopFlushers(second);
    // status counts it and says the finalized run will not take it, rather than promising it.
    const looked = await runCli(["status", "--json", "--dir", second], { env });
    expect((JSON.parse(looked.stdout) as { sync: { kept: number } }).sync.kept).toBe(1);
    expect(looked.stderr).toMatch(
      /1 change\(s\) kept on this machine .*: it was made after it was finalized \(.*\), which takes no change made after it: .* sets it aside, not applied\n/,
    );

    const retry = await runCli(["retry", "--dir", second], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toMatch(
      /cannot be applied \(run .* was finalized at .*\): moved aside as change_.*\.json\.rejected/,
    );
    const folder = join(second, ".parallel-progress", "pending");
    const [aside, ...others] = await keptChangeFiles(second, "set aside");
    expect(others).toEqual([]);
    const kept = JSON.parse(await readFile(join(folder, aside!), "utf8")) as {
      change: { kind: string; agent: string };
      setAside: string;
    };
    expect(kept.change).toMatchObject({ kind: "update", agent: "web" });
    expect(kept.setAside).toMatch(/was finalized at/);

    for (const args of [["status"], ["retry"]]) {
      const later = await runCli([...args, "--dir", second], { env });
      expect(later.code, later.stderr).toBe(0);
      expect(later.stderr).toMatch(
        /warning: 1 change\(s\) kept while the database was down were set aside, not applied \(.*\.rejected\): each file says why; delete them once read/,
      );
    }
    await rm(join(folder, aside!));
    expect((await runCli(["status", "--dir", second], { env })).stderr).toBe("");
  }, 60_000);

  /**
   * A database of its own with role `role` granted acme/widgets, and a run of `epic` (one agent, `api`)
   * that role started in a folder of its own (`more`: init's other flags); `db` grants or revokes.
   */
  const grantedRun = async (prefix: string, role: string, epic: string, more: string[] = []) => {
    const { url, name } = await server.createDatabase(prefix);
    await server.sql(name, `CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw'`);
    const db = (verb: string) =>
      runCli(["db", verb, role, "--repo", "acme/widgets", "--store", url], { env: cli.env(url, epic) });
    expect((await db("grant")).code).toBe(0);
    const env = cli.env(server.url(name, { name: role, password: `${role}-pw` }), epic);
    const dir = await cli.folder();
    const args = [
      "init",
      "--epic",
      epic,
      "--domains",
      "api",
      "--repo",
      "acme/widgets",
      ...more,
      "--dir",
      dir,
    ];
    const init = await runCli(args, { env });
    expect(init.code, init.stderr).toBe(0);
    return { db, env, dir, agent: init.stdout.trim().split("\t")[1]! };
  };

  it("keeps what it kept while the database shows the role no run (its grant revoked meanwhile), and applies it once the grant is back", async () => {
    const posting = ["--issue", "204", "--min-interval", "0"];
    const { db, env, dir, agent } = await grantedRun("regrant", "kim", "EPIC-G", posting);
    const update = ["update", agent, "--status", "in_progress", "--files", "1/3", "--dir", dir];
    expect((await runCli(update, { env: await cli.away(env) })).code).toBe(0);
    await stopFlushers(dir);
    expect((await db("revoke")).code).toBe(0);

    // The role sees no run now: nothing it kept is set aside, and retry says they stay (exit 3).
    const retry = await runCli(["retry", "--dir", dir], { env });
    expect(retry.code, retry.stderr).toBe(3);
    expect(retry.stderr).toMatch(
      /warning: 1 change\(s\) kept while the database was down wait in .*: postgresql:\/\/kim@.* shows no run of epic "EPIC-G" \(check the role's grant/,
    );
    expect(retry.stderr).not.toContain("kim-pw");
    expect(await keptChangeFiles(dir)).toHaveLength(1);
    expect(await keptChangeFiles(dir, "set aside")).toEqual([]);

    expect((await db("grant")).code).toBe(0);
    const again = await runCli(["retry", "--dir", dir], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(await keptChangeFiles(dir)).toEqual([]);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      agents: { filesCompleted: number }[];
    };
    expect(status.agents[0]?.filesCompleted).toBe(1);
  }, 60_000);

  it("its background writer keeps asking while the database shows the role no run, and applies the change once the grant is back", async () => {
    const { db, env, dir, agent } = await grantedRun("regrant_wait", "lee", "EPIC-L");
    expect((await db("revoke")).code).toBe(0);
    await server.stopServer();
    try {
      const update = ["update", agent, "--status", "in_progress", "--files", "2/3", "--dir", dir];
      expect((await runCli(update, { env })).code).toBe(0);
      expect(await keptChangeFiles(dir)).toHaveLength(1);
    } finally {
      await server.start();
    }
    // The database answers, the role sees no run: the writer asks again rather than end (it ended).
    await waitFor(async () => (await flusherPids(dir)).length === 0, 8000, 100);
    expect((await db("grant")).code).toBe(0);
    expect(await waitFor(async () => (await keptChangeFiles(dir)).length === 0, 40_000, 100)).toBe(true);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      agents: { filesCompleted: number }[];
    };
    expect(status.agents[0]?.filesCompleted).toBe(2);
  }, 90_000);

  it("measures a kept change by when a kept finalize was made, not by when it was applied", async () => {
    const { env, first, second } = await twoMachines("kept_end", "EPIC-KEPT-END");
    const away = await cli.away(env);
    // Both machines are cut off: the first finalizes, then the second's agent reports (after the end).
    expect((await runCli(["finalize", "--summary", "done", "--dir", first], { env: away })).code).toBe(0);
    const update = ["update", "web", "--status", "in_progress", "--dir", second];
    expect((await runCli(update, { env: away })).code).toBe(0);
    await stopFlushers(first);
    await stopFlushers(second);
    // The database answers: the finalize is applied first, a while after it was made.
    expect((await runCli(["retry", "--dir", first], { env })).code).toBe(0);
    const retry = await runCli(["retry", "--dir", second], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toMatch(/cannot be applied \(run .* was finalized at .*\): moved aside/);
    expect((await statusOf(first, env)).agents.find((a) => a.domain === "web")!.status).toBe("pending");
  }, 60_000);

  it("finalize once the database answers applies the kept finalize first: its summary, posted once", async () => {
    const { env, dir } = await startRun("fin_again", "EPIC-G", 204);
    const away = await cli.away(env);
    expect((await runCli(["finalize", "--summary", "the kept one", "--dir", dir], { env: away })).code).toBe(
      0,
    );
    await stopFlushers(dir);
    const again = await runCli(["finalize", "--summary", "a later one", "--dir", dir], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(await pending(dir)).toEqual([]);
    expect(finals(204)).toHaveLength(1);
    expect(finals(204)[0]!.body).toContain("the kept one");
    expect(finals(204)[0]!.body).not.toContain("a later one");
  }, 60_000);

  it("init and add are refused in one line (exit 1) and keep nothing; read-only commands say it in one line", async () => {
    const { env, dir } = await startRun("refused", "EPIC-I", 203);
    const away = await cli.away(env);

    const init = await runCli(["init", "--epic", "EPIC-J", "--domains", "a,b", "--dir", dir], { env: away });
    expect(init.code).toBe(1);
    oneLine(init);
    expect(init.stderr).toMatch(
      /^parallel-progress: error: postgresql:\/\/postgres@127\.0\.0\.1:\d+\/\S+ is not answering: .*; the run was not started, unless the database took it and its answer was lost: `status` shows which once the database answers \(init is not kept for later: .*\); try again when the database answers$/m,
    );
    expect(init.stdout).toBe("");
    const add = await runCli(["add", "--domains", "web", "--dir", dir], { env: away });
    expect(add.code).toBe(1);
    oneLine(add);
    expect(add.stderr).toMatch(/not answering: .*; no agent was added/);
    expect(await pending(dir)).toEqual([]);

    for (const args of [
      ["status"],
      ["status", "--json"],
      ["history"],
      ["db", "status"],
      ["db", "migrate"],
      ["watch", "--timeout", "5"],
      ["serve", "--port", "0"],
    ]) {
      const result = await spawnCli([...args, "--dir", dir], { env: away, timeoutMs: 20_000 }).done;
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(1);
      oneLine(result);
      expect(result.stderr).toMatch(/is not answering: .*try again when the database answers/);
    }
    // A stopped server (connection refused on its own port) reads the same for a read-only command.
    await server.stopServer();
    try {
      const status = await runCli(["status", "--dir", dir], { env });
      expect(status.code).toBe(1);
      oneLine(status);
    } finally {
      await server.start();
    }
  }, 120_000);
});
