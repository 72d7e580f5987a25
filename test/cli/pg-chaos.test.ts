import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusView } from "../../src/model/status-view.js";
import {
  allFileText,
  type CliResult,
  keptChangeFiles,
  queueFiles,
  repeatUntil,
  waitFor,
} from "../support/cli.js";
import { prng } from "../support/fake-github/faults.js";
import type { Faults } from "../support/fake-github/index.js";
import { expectConvergedIssue, withoutMarker } from "../support/issue-truth.js";
import { type Machine, machinesUnavailable } from "../support/machine.js";
import { usePostgresCli } from "../support/pg-cli.js";
import {
  postgresUnavailable,
  SUPERUSER_PASSWORD,
  startPostgres,
  type TestPostgres,
} from "../support/postgres.js";

/**
 * A randomized chaos test of one run shared by three machines through PostgreSQL: three agents on each
 * machine report (update, then complete or fail) while two chaos drivers kill calls and background
 * writers (SIGKILL) and make GitHub fail, and terminate the calls' backends, restart the server and cancel
 * statements as a tiny statement_timeout would. Then everything heals, `retry` runs on each machine and
 * `finalize` once, and the run must hold every acknowledged change exactly once and in order, the issue
 * must show the run as stored (one progress comment, one final summary, writes ≥ 1 s apart), no secret
 * may be in any output, file, stored row or comment, and no process may be left running.
 *
 * Seeded: a failure names its seed, and `PP_CHAOS_SEED=<seed>` replays its schedule (the processes' timing
 * is the machine's). `PP_CHAOS_RUNS=<n>` runs n runs one after the other (seeds seed, seed + 1, …) for a
 * longer soak; `PP_CHAOS_CALLS=<n>` sets the updates per agent (default 4).
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the chaos test: ${skip}`);
const noMachines = skip ? null : await machinesUnavailable();
if (noMachines) console.warn(`skipping the chaos test: ${noMachines}`);

const TOKEN = "ghp_chaos0123456789abcdefghijklmnopqrstuv";
const LOGIN = "octo-bot";
const REPO = "acme/widgets";
const ISSUE = 123;
const FINAL = "## 🎉 Final Summary";

const envNumber = (name: string, fallback: number) => {
  const value = process.env[name];
  return value === undefined || value === "" ? fallback : Number(value);
};
const FIRST_SEED = envNumber("PP_CHAOS_SEED", Math.floor(Math.random() * 2 ** 31));
const RUNS = envNumber("PP_CHAOS_RUNS", 1);
const UPDATES = envNumber("PP_CHAOS_CALLS", 4);

/** One of `items`, chosen by the random source `r`. */
const choose = <T>(r: () => number, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;

/** One call an agent makes: its arguments and the change it stands for. */
interface Call {
  agent: string;
  /** Its place among the agent's calls (0, 1, …): the run must hold them in this order. */
  index: number;
  /** What the run shows once it is applied: `u<k>` (files k), `completed`, `failed`. */
  mark: string;
  args: string[];
  result?: CliResult;
}

/** An event of the run as the test's trigger saw it committed: its agent's state right after it. */
interface Captured {
  seq: number;
  agent_id: string | null;
  status: string | null;
  files: number | null;
}

/** The test's own observer in the run's database: a row per event with the agent's state after it. */
const CAPTURE = `
CREATE TABLE public.chaos_events (seq bigint, agent_id text, status text, files int);
CREATE FUNCTION public.chaos_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.chaos_events
    SELECT NEW.seq, NEW.agent_id, a.status, a.files_completed
    FROM (SELECT 1) one
    LEFT JOIN parallel_progress.agents a ON a.run_id = NEW.run_id AND a.agent_id = NEW.agent_id;
  RETURN NULL;
END $$;
CREATE TRIGGER chaos_capture AFTER INSERT ON parallel_progress.events
  FOR EACH ROW EXECUTE FUNCTION public.chaos_capture();`;

const markOf = (row: Captured) => (row.status === "in_progress" ? `u${row.files}` : (row.status ?? "none"));

describe.skipIf(skip || noMachines)("chaos: one run on three machines through PostgreSQL", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });
  // After the server's hooks: the machines and the fake go before the server (stack order).
  const cli = usePostgresCli(TOKEN);

  for (let run = 0; run < RUNS; run++) {
    const seed = FIRST_SEED + run;
    it(`holds every acknowledged change once, in order, and the issue converges (seed ${seed})`, async () => {
      const log: string[] = [];
      try {
        await chaosRun(seed, log);
      } catch (error) {
        throw new Error(
          `chaos seed ${seed} (replay: PP_CHAOS_SEED=${seed} npx vitest run test/cli/pg-chaos.test.ts)\n` +
            `schedule: ${log.join("; ")}\n${(error as Error).message}`,
          { cause: error },
        );
      }
    }, 240_000);
  }

  async function chaosRun(seed: number, log: string[]): Promise<void> {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const started = Date.now();
    const note = (what: string) => log.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);
    cli.gh.reset();
    const { url, name } = await server.createDatabase("chaos");
    const epic = `EPIC-CHAOS-${seed}`;
    const env = cli.env(url, epic);
    const machines = await Promise.all(["m1", "m2", "m3"].map((host) => cli.machine(`${host}-${seed}`)));
    const outputs: CliResult[] = [];
    const call = async (machine: Machine, args: string[]) => {
      const result = await machine.cli(args, env);
      outputs.push(result);
      return result;
    };

    // The schema, the test's observer, then the run (writes a second apart: the default).
    const migrated = await call(machines[0]!, ["db", "migrate"]);
    expect(migrated.code, migrated.stderr).toBe(0);
    await server.sql(name, CAPTURE);
    const domains = machines.flatMap((_, m) => [1, 2, 3].map((a) => `d${m + 1}${a}`));
    const init = await call(machines[0]!, [
      "init",
      "--epic",
      epic,
      "--domains",
      domains.join(","),
      "--issue",
      String(ISSUE),
      "--repo",
      REPO,
    ]);
    expect(init.code, init.stderr).toBe(0);
    const ids = new Map(
      init.stdout
        .trim()
        .split("\n")
        .map((line) => line.split("\t") as [string, string]),
    );

    // Each agent's calls: updates to files 1/n, 2/n, …, then complete or fail (quoting the token: masked).
    const calls = new Map<string, Call[]>();
    for (const domain of domains) {
      const list: Call[] = [];
      for (let k = 1; k <= UPDATES; k++) {
        const args = ["update", domain, "--status", "in_progress", "--files", `${k}/${UPDATES}`];
        list.push({ agent: domain, index: k - 1, mark: `u${k}`, args });
      }
      list.push(
        random() < 0.7
          ? {
              agent: domain,
              index: UPDATES,
              mark: "completed",
              args: ["complete", domain, "--summary", `done ${domain}`],
            }
          : {
              agent: domain,
              index: UPDATES,
              mark: "failed",
              args: ["fail", domain, "--error", `broke ${domain}: GITHUB_TOKEN=${TOKEN}`],
            },
      );
      calls.set(domain, list);
    }
    /** The calls the chaos killed, by the agent's domain and call index. */
    const killed = new Set<string>();
    let finished = 0;
    let agentsDone = false;
    const agents = Promise.all(
      domains.map(async (domain, i) => {
        const machine = machines[Math.floor(i / 3)]!;
        for (const item of calls.get(domain)!) {
          item.result = await call(machine, item.args);
          finished++;
        }
      }),
    ).finally(() => {
      agentsDone = true;
    });

    /** Waits until `more` further calls have ended (or the agents are done): how long a fault lasts. */
    const callsLater = async (more: number) => {
      const target = finished + more;
      await waitFor(() => finished >= target || agentsDone, 60_000, 20);
    };
    const processesOf = async (machine: Machine, background: boolean) =>
      (await machine.processes()).filter(
        (p) =>
          p.argv.some((arg) => arg.endsWith("parallel-progress.cjs")) &&
          p.argv.includes("__flush") === background,
      );
    const kill = (pid: number) => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // ended meanwhile
      }
    };
    const superuser = () => new pg.Client({ connectionString: url });
    const ourBackends = `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'parallel-progress'`;

    const chaos = {
      /** SIGKILL to a running agent call on a random machine, a random moment after it started. */
      async killCall(r: () => number) {
        const machine = choose(r, machines);
        let running: { pid: number; argv: string[] }[] = [];
        await waitFor(
          async () => {
            running = await processesOf(machine, false);
            return running.length > 0 || agentsDone;
          },
          10_000,
          25,
        );
        if (running.length === 0) return note(`kill call on ${machine.name}: none running`);
        const victim = choose(r, running);
        await new Promise((done) => setTimeout(done, Math.floor(r() * 400)));
        const argv = victim.argv.slice(victim.argv.findIndex((arg) => arg.endsWith(".cjs")) + 1);
        const command = argv[0];
        if (command !== "update" && command !== "complete" && command !== "fail") return;
        const domain = argv[1]!;
        const index =
          command === "update" ? Number(argv[argv.indexOf("--files") + 1]!.split("/")[0]) - 1 : UPDATES;
        killed.add(`${domain}#${index}`);
        kill(victim.pid);
        note(`kill ${command} ${domain}#${index} on ${machine.name}`);
      },
      /** SIGKILL to a background writer, if one runs. */
      async killWriter(r: () => number) {
        const writers = (await Promise.all(machines.map((m) => processesOf(m, true)))).flat();
        if (writers.length === 0) return note("kill writer: none running");
        kill(choose(r, writers).pid);
        note(`kill writer (of ${writers.length})`);
      },
      /** pg_terminate_backend of the tool's connections to the run's database: all of them, or one. */
      async terminate(r: () => number) {
        const all = r() < 0.5;
        const rows = await server.sql(
          name,
          `SELECT pg_terminate_backend(pid) FROM (${ourBackends}) b ORDER BY random() LIMIT $2`,
          [name, all ? 1000 : 1],
        );
        note(`terminate ${rows.length} backend(s)`);
      },
      /** The server stops, stays down for a call or two, and starts again. */
      async restart(r: () => number) {
        await server.stopServer();
        const down = 1 + Math.floor(r() * 2);
        note(`server down for ${down} calls`);
        await callsLater(down);
        await server.start();
        note("server up");
      },
      /**
       * A tiny statement timeout (50 ms) for a moment. The tool sets statement_timeout as a connection
       * parameter (10 s), which outranks a database's or role's setting, so the test does what such a
       * timeout does: the run's table is locked for a moment (its statements wait), and every statement of
       * the tool that has run 50 ms is cancelled (SQLSTATE 57014, as a statement timeout ends it). The
       * cancels run outside the lock's transaction, which would see pg_stat_activity as at its start.
       */
      async statementTimeout(r: () => number) {
        const holder = superuser();
        const canceller = superuser();
        await Promise.all([holder.connect(), canceller.connect()]);
        let cancelled = 0;
        try {
          await holder.query("BEGIN");
          await holder.query("LOCK TABLE parallel_progress.runs IN ACCESS EXCLUSIVE MODE");
          const until = finished + 1 + Math.floor(r() * 2);
          await waitFor(
            async () => {
              const { rows } = await canceller.query(
                `SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                 WHERE datname = $1 AND application_name = 'parallel-progress' AND state = 'active'
                   AND now() - query_start > interval '50 milliseconds'`,
                [name],
              );
              cancelled += rows.length;
              return finished >= until || agentsDone;
            },
            15_000,
            20,
          );
          await holder.query("COMMIT");
        } finally {
          await Promise.all([holder.end(), canceller.end()]);
        }
        note(`statement timeout: ${cancelled} cancelled`);
      },
      /** GitHub fails (down, 5xx, dropped connections or a lost create answer) for a call or two. */
      async github(r: () => number) {
        const faults: Partial<Faults>[] = [
          { down: true },
          { failureRate: 0.5 },
          { dropRate: 0.4 },
          { loseCreateResponses: 1 },
        ];
        const fault = choose(r, faults);
        cli.gh.setFaults(fault);
        note(`github ${JSON.stringify(fault)}`);
        await callsLater(1 + Math.floor(r() * 2));
        cli.gh.clearFaults();
        note("github healthy");
      },
    };
    /**
     * Two drivers, each with a random source of its own (so a seed replays each one's choices): one for the
     * database (terminated backends, restarts, statement timeouts), one for processes and GitHub, so that
     * faults of the two kinds overlap. Each acts after the next call ends.
     */
    const drive = (seedOf: number, kinds: (keyof typeof chaos)[]) => {
      const r = prng(seedOf);
      return (async () => {
        while (!agentsDone) {
          await callsLater(1);
          if (agentsDone) break;
          await chaos[choose(r, kinds)](r);
        }
      })();
    };
    const drivers = Promise.all([
      drive(seed ^ 0x5bd1e995, ["terminate", "terminate", "restart", "statementTimeout"]),
      drive(seed ^ 0x27d4eb2f, [
        "killCall",
        "killCall",
        "killCall",
        "killWriter",
        "killWriter",
        "github",
        "github",
      ]),
    ]);
    await agents;
    await drivers;

    // Heal: GitHub answers, the server runs (it does: restart starts it again before it returns).
    cli.gh.clearFaults();
    note("healed");
    for (const machine of machines) {
      const retried = await repeatUntil(
        async () => {
          const result = await call(machine, ["retry"]);
          note(
            `retry on ${machine.name}: ${result.code}${result.code === 0 ? "" : ` ${result.stderr.trim()}`}`,
          );
          return result;
        },
        (result) => result.code === 0,
        60_000,
      );
      expect(retried.code, `retry on ${machine.name}: ${retried.stderr}`).toBe(0);
    }
    const finalize = await call(pick(machines), ["finalize", "--summary", "merged"]);
    expect(finalize.code, finalize.stderr).toBe(0);
    note("finalized");

    // Nothing left running on any machine: background writers end once they have nothing left to do.
    const idle = await waitFor(
      async () => (await Promise.all(machines.map((m) => m.processes()))).every((list) => list.length === 0),
      90_000,
      100,
    );
    const left = (await Promise.all(machines.map((m) => m.processes()))).flat();
    expect(idle, `still running: ${left.map((p) => p.argv.join(" ")).join(" | ")}`).toBe(true);
    note("idle");

    // Every agent call exited 0 (warnings allowed), unless the chaos killed it.
    for (const list of calls.values()) {
      for (const item of list) {
        const wasKilled = killed.has(`${item.agent}#${item.index}`);
        if (wasKilled && item.result!.code !== 0) continue;
        expect(item.result!.code, `${item.args.join(" ")}: ${item.result!.stderr}`).toBe(0);
        expect(item.result!.stderr).not.toMatch(/internal error|\n\s+at /);
      }
    }

    // The run holds each acknowledged call once, in each agent's order; a killed one at most once.
    const captured = await server.sql<Captured>(
      name,
      "SELECT seq::int AS seq, agent_id, status, files FROM public.chaos_events ORDER BY seq",
    );
    expect(captured.map((row) => row.seq)).toEqual(captured.map((_, i) => i + 1));
    for (const domain of domains) {
      const marks = captured.filter((row) => row.agent_id === ids.get(domain)).map(markOf);
      const list = calls.get(domain)!;
      const indexes = marks.map((mark) => list.findIndex((item) => item.mark === mark));
      expect(indexes, `${domain}: ${marks.join(",")}`).not.toContain(-1);
      expect(
        indexes.every((index, i) => i === 0 || index > indexes[i - 1]!),
        `${domain} in order, once each: ${marks.join(",")}`,
      ).toBe(true);
      for (const item of list) {
        if (item.result!.code === 0) expect(marks, `${domain}: ${item.args.join(" ")}`).toContain(item.mark);
      }
    }
    // Nothing kept is left behind or set aside on any machine.
    for (const machine of machines) {
      expect(await keptChangeFiles(machine.dir), `kept on ${machine.name}`).toEqual([]);
      expect(await keptChangeFiles(machine.dir, "set aside"), `set aside on ${machine.name}`).toEqual([]);
      expect(await queueFiles(machine.dir), `queued on ${machine.name}`).toEqual([]);
    }

    // The issue shows the run as stored: one progress comment, one final summary.
    const statusJson = await call(machines[1]!, ["status", "--json"]);
    expect(statusJson.code, statusJson.stderr).toBe(0);
    const view = JSON.parse(statusJson.stdout) as StatusView;
    const markdown = (await call(machines[2]!, ["status", "--markdown"])).stdout;
    const body = withoutMarker(markdown);
    const at = body.indexOf(`\n\n${FINAL}`);
    const expected = { progress: (at >= 0 ? body.slice(0, at) : body).trimEnd(), final: body };
    await expectConvergedIssue(
      cli.gh,
      { repo: REPO, issue: ISSUE, login: LOGIN },
      view,
      expected,
      machines[0]!.dir,
    );

    // Writes for the run at least 1 s apart (the fake records when it accepted each).
    const writes = cli.gh.writes;
    const gaps = writes.slice(1).map((t, i) => t - writes[i]!);
    const short = gaps.findIndex((gap) => gap < 990);
    const around = (at: number) =>
      cli.gh.requests
        .filter((r) => r.at > at - 15_000 && r.at < at + 2500)
        .map((r) => `${r.at - started} ${r.method} ${r.path} ${r.status} ${r.outcome}`)
        .join("\n");
    expect(short, `gaps ${gaps.join(",")}\n${short < 0 ? "" : around(writes[short]!)}`).toBe(-1);

    // No token and no password in any output or file.
    for (const result of outputs) {
      for (const secret of [TOKEN, SUPERUSER_PASSWORD]) {
        expect(result.stdout + result.stderr).not.toContain(secret);
      }
    }
    for (const machine of machines) {
      // The machine's folder: its epic directory and its temp folder.
      const text = await allFileText(join(machine.dir, ".."));
      for (const secret of [TOKEN, SUPERUSER_PASSWORD]) expect(text, machine.name).not.toContain(secret);
    }
    const stored = await server.sql<{ text: string }>(
      name,
      `SELECT (SELECT string_agg(run_state::text, '') FROM parallel_progress.runs) ||
              (SELECT string_agg(state::text || coalesce(error, ''), '') FROM parallel_progress.agents) AS text`,
    );
    const onIssue = cli.gh.comments(REPO, ISSUE).map((c) => c.body);
    for (const text of [stored[0]!.text, ...onIssue]) expect(text).not.toContain(TOKEN);
  }
});
