import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as esbuild from "esbuild";
import { NODE_BUNDLE } from "../scripts/bundling.mjs";
import { PgRunStore } from "../src/store/pg/pg-store.js";
import { startFakeGitHub } from "../test/support/fake-github/index.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../test/support/postgres.js";
import { type Epics, ISSUE, LOCAL_TASK, REPO } from "./lib/epic.js";
import { BIN, cleanEnv, cliOutput, drainFlushers, PG_BARE, ROOT, TOKEN, timeNode } from "./lib/proc.js";
import type { Section, Target } from "./lib/report.js";
import { median, ms, quantile, ratio } from "./lib/stats.js";

/**
 * Issue 12, item 8: the PostgreSQL store on a throwaway local server. `update` against it vs the file
 * store; 3 machines x 4 agents x 25 updates into one run and one comment; store throughput with 16
 * processes; from a change to `watch` printing it (LISTEN/NOTIFY).
 */

export const UPDATE_RATIO_GOAL = 1.5;
export const THROUGHPUT_GOAL = 500;
export const NOTIFY_P95_GOAL_MS = 100;

export async function pgSection(epics: Epics, samples: number): Promise<Section> {
  const unavailable = postgresUnavailable();
  if (unavailable) throw new Error(`PostgreSQL benchmark skipped: ${unavailable}`);
  const server = await startPostgres();
  try {
    return await measure(server, epics, samples);
  } finally {
    await server.destroy();
  }
}

async function measure(server: TestPostgres, epics: Epics, samples: number): Promise<Section> {
  const update = await updateRatio(server, epics, samples);
  const machines = await machinesRun(server);
  // The design choice, measured side by side: a change in one statement checking what it read (the
  // default) vs every change locking the run row across a round trip (optimisticAttempts 0).
  const throughput = await storeThroughput(server, 16, 150);
  const locking = await storeThroughput(server, 16, 150, 0);
  const notify = await watchLatency(server, 40);
  const targets: Target[] = [
    {
      name: "pg: update vs the file store (median)",
      value: ratio(update.ratio),
      goal: `≤ ${UPDATE_RATIO_GOAL.toFixed(2)}x`,
      pass: update.ratio <= UPDATE_RATIO_GOAL,
    },
    {
      name: "pg: 3 machines x 4 agents x 25 updates: calls exit 0, one comment caught up",
      value: `${machines.failed} failed, ${machines.comments} comment(s), ${machines.caughtUp ? "caught up" : "behind"}`,
      goal: "0 failed, 1, caught up",
      pass: machines.failed === 0 && machines.comments === 1 && machines.caughtUp,
    },
    {
      name: "pg: store throughput, 16 processes",
      value: `${throughput.perSecond.toFixed(0)} changes/s`,
      goal: `≥ ${THROUGHPUT_GOAL}/s`,
      pass: throughput.perSecond >= THROUGHPUT_GOAL && throughput.lost === 0,
    },
    {
      name: "pg: commit → `watch` prints it, p95",
      value: ms(notify.p95),
      goal: `≤ ${NOTIFY_P95_GOAL_MS} ms`,
      pass: notify.p95 <= NOTIFY_P95_GOAL_MS,
    },
  ];
  return {
    title: "12. PostgreSQL store (a local throwaway server)",
    table: [
      ["measure", "file store", "PostgreSQL", "ratio"],
      ["`update` (local run), median", ms(update.file), ms(update.pg), ratio(update.ratio)],
      [
        "floor: a bare script loading `pg`, connecting, SELECT 1 (vs the file store), median",
        "",
        ms(update.bare),
        ratio(update.bare / update.file),
      ],
      [
        "`update` (local run), p95",
        ms(update.fileP95),
        ms(update.pgP95),
        ratio(update.pgP95 / update.fileP95),
      ],
      ["3x4x25: call p50 / p95", "", `${ms(machines.p50)} / ${ms(machines.p95)}`, ""],
      ["3x4x25: GitHub writes (calls)", "", `${machines.writes} (${machines.calls})`, ""],
      ["3x4x25: last exit → issue caught up", "", ms(machines.catchUp), ""],
      [
        "store throughput, 16 processes (one statement per change, the default)",
        "",
        `${throughput.perSecond.toFixed(0)} changes/s (${throughput.total}, lost ${throughput.lost})`,
        "",
      ],
      [
        "store throughput, 16 processes (every change locking the run row)",
        "",
        `${locking.perSecond.toFixed(0)} changes/s (${locking.total}, lost ${locking.lost})`,
        ratio(locking.perSecond / throughput.perSecond),
      ],
      [
        "store throughput: CPU per change, workers / server (default)",
        "",
        `${throughput.clientMs.toFixed(2)} / ${throughput.serverMs === null ? "?" : throughput.serverMs.toFixed(2)} ms`,
        "",
      ],
      [
        "change → `watch` prints it (LISTEN/NOTIFY): p50 / p95",
        "",
        `${ms(notify.p50)} / ${ms(notify.p95)}`,
        "",
      ],
    ],
    notes: [
      "update: a local run (no issue), so both sides pay the store and start-up only; PostgreSQL pays one connection (TCP + SCRAM) and one transaction per call",
      "floor: bench/fixtures/pg-bare.cjs bundled as the CLI bundles pg, nothing of this project: what any short process pays to load `pg` and make one call",
    ],
    targets,
    readme: [
      ["`update` with PostgreSQL vs the file store", ratio(update.ratio), `≤ ${UPDATE_RATIO_GOAL}x`],
      [
        "floor: a bare script loading `pg` and making one call, vs the same",
        ratio(update.bare / update.file),
        "-",
      ],
      [
        "3 machines x 4 agents x 25 updates: call p50 / p95",
        `${ms(machines.p50)} / ${ms(machines.p95)}`,
        "-",
      ],
      ["3x4x25: GitHub writes / catch-up", `${machines.writes} / ${ms(machines.catchUp)}`, "1 comment"],
      [
        "store throughput, 16 processes",
        `${throughput.perSecond.toFixed(0)} changes/s`,
        `≥ ${THROUGHPUT_GOAL}/s`,
      ],
      ["change → `watch` p95 (PostgreSQL)", ms(notify.p95), `≤ ${NOTIFY_P95_GOAL_MS} ms`],
    ],
  };
}

/**
 * `update` of a local run, file store and PostgreSQL alternately, same CLI, same machine; and the floor
 * under the PostgreSQL side: a bare script that loads `pg` and makes one call.
 */
async function updateRatio(server: TestPostgres, epics: Epics, samples: number) {
  const { url } = await server.createDatabase("bench_update");
  const floor = await bundled(PG_BARE, await epics.make(LOCAL_TASK));
  const fileDir = await epics.make(LOCAL_TASK);
  const pgDir = await epics.make(LOCAL_TASK);
  const env = cleanEnv();
  const pgEnv = cleanEnv({ PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "BENCH-PG" });
  await cliOutput(["init", "--epic", "BENCH-FILE", "--domains", "api", "--dir", fileDir], env);
  const agent = (await cliOutput(["init", "--epic", "BENCH-PG", "--domains", "api", "--dir", pgDir], pgEnv))
    .trim()
    .split("\t")[1]!;
  const fileAgent = (await cliOutput(["status", "--json", "--dir", fileDir], env)).match(
    /"agentId": "([^"]+)"/,
  )![1]!;
  const file: number[] = [];
  const pg: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < samples + 2; i++) {
    const files = `${i % 10}/10`;
    const a = await timeNode(
      [BIN, "update", fileAgent, "--status", "in_progress", "--files", files, "--dir", fileDir],
      { env },
    );
    const b = await timeNode(
      [BIN, "update", agent, "--status", "in_progress", "--files", files, "--dir", pgDir],
      {
        env: pgEnv,
      },
    );
    const c = await timeNode([floor, url], { env });
    if (a.code !== 0 || b.code !== 0 || c.code !== 0) {
      throw new Error(`update failed: ${a.stderr || b.stderr || c.stderr}`);
    }
    if (i >= 2) {
      file.push(a.ms);
      pg.push(b.ms);
      bare.push(c.ms);
    }
  }
  return {
    file: median(file),
    pg: median(pg),
    fileP95: quantile(file, 0.95),
    pgP95: quantile(pg, 0.95),
    bare: median(bare),
    ratio: median(pg) / median(file),
  };
}

/** `script` bundled with its dependencies into `dir`, as the CLI's build bundles them (one file to read). */
async function bundled(script: string, dir: string): Promise<string> {
  const outfile = join(dir, "bundled.cjs");
  await esbuild.build({ ...NODE_BUNDLE, entryPoints: [script], outfile });
  return outfile;
}

/** Three "machines" (directories of their own), four agents each, 25 updates each, one run, one issue. */
async function machinesRun(server: TestPostgres) {
  const { url, name } = await server.createDatabase("bench_machines");
  const github = await startFakeGitHub({ tokens: { [TOKEN]: "octo-bot" }, minWriteIntervalMs: 1000 });
  const dirs = await Promise.all([0, 1, 2].map(() => mkdtemp(join(tmpdir(), "pp-bench-machine-"))));
  try {
    const env = cleanEnv({
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.url,
      PARALLEL_PROGRESS_STORE: url,
      PARALLEL_PROGRESS_EPIC: "BENCH-MACHINES",
    });
    const domains = Array.from({ length: 12 }, (_, i) => `agent-${String(i + 1).padStart(2, "0")}`);
    const init = [
      "init",
      "--epic",
      "BENCH-MACHINES",
      "--domains",
      domains.join(","),
      "--issue",
      String(ISSUE),
    ];
    await cliOutput([...init, "--repo", REPO, "--dir", dirs[0]!], env);
    const initWrites = github.writes.length;
    const times: number[] = [];
    let failed = 0;
    let lastExit = 0;
    await Promise.all(
      domains.map(async (domain, i) => {
        const dir = dirs[i % 3]!;
        for (let n = 1; n <= 25; n++) {
          const result = await timeNode(
            [BIN, "update", domain, "--status", "in_progress", "--files", `${n}/25`, "--dir", dir],
            { env },
          );
          times.push(result.ms);
          if (result.code !== 0) failed++;
          lastExit = Math.max(lastExit, performance.now());
        }
      }),
    );
    // Caught up: the comment carries the run's last sequence number (its hidden marker names it).
    const [last] = await server.sql<{ seq: string }>(
      name,
      "SELECT seq::text AS seq FROM parallel_progress.runs",
    );
    const marker = new RegExp(`<!-- parallel-progress:progress run=\\S+ seq=${last?.seq ?? "none"} -->\\s*$`);
    const comments = () => github.comments(REPO, ISSUE);
    let caughtUpAt = Number.NaN;
    while (performance.now() - lastExit < 20_000) {
      if (comments().some((c) => marker.test(c.body))) {
        caughtUpAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const dir of dirs) await drainFlushers(dir, 10_000);
    return {
      calls: times.length,
      failed,
      p50: median(times),
      p95: quantile(times, 0.95),
      writes: github.writes.length - initWrites,
      catchUp: caughtUpAt - lastExit,
      caughtUp: Number.isFinite(caughtUpAt),
      comments: comments().length,
    };
  } finally {
    await github.close();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/**
 * `processes` processes, one connection each, each changing its own agent of one run `count` times
 * (`optimistic`: the store's optimisticAttempts; absent, its default). With the CPU the workers used per
 * change, and the server's (its processes, read from /proc; null where there is none).
 */
async function storeThroughput(server: TestPostgres, processes: number, count: number, optimistic?: number) {
  const { url } = await server.createDatabase("bench_throughput");
  const domains = Array.from({ length: processes }, (_, i) => `w${i}`);
  const store = new PgRunStore({ url, epicId: "BENCH-TP", maxConnections: 1 });
  const { createRun } = await import("../src/model/run.js");
  const run = await store.transact((_c, now) => {
    const next = createRun({
      epicId: "BENCH-TP",
      domains,
      now,
      github: {
        issueNumber: null,
        repo: null,
        apiUrl: "x",
        syncEnabled: false,
        commentMode: "edit",
        minIntervalMs: 0,
      },
      nonce: "0000",
    });
    return { next, result: next };
  });
  const ids = Object.values(run.agents).map((agent) => agent.agentId);
  const worker = join(ROOT, "bench", "fixtures", "pg-worker.mjs");
  const children = ids.map((id) =>
    spawn(process.execPath, [worker, url, "BENCH-TP", id, String(count), String(optimistic ?? "")], {
      stdio: ["pipe", "pipe", "inherit"],
    }),
  );
  const lines = children.map((child) => {
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    const until = (predicate: (t: string) => boolean) =>
      new Promise<string>((resolve, reject) => {
        const check = () => (predicate(text) ? resolve(text) : undefined);
        child.stdout.on("data", check);
        child.on("exit", () => (predicate(text) ? resolve(text) : reject(new Error("worker ended early"))));
        check();
      });
    return until;
  });
  await Promise.all(lines.map((until) => until((t) => t.includes("ready"))));
  const serverBefore = serverCpuMs(server.port);
  for (const child of children) child.stdin.end("go\n");
  const outputs = await Promise.all(lines.map((until) => until((t) => t.includes("}"))));
  // The workers' server processes have ended (and been reaped) once the workers have.
  await Promise.all(
    children.map((child) => (child.exitCode === null ? new Promise((r) => child.once("exit", r)) : null)),
  );
  const serverAfter = serverCpuMs(server.port);
  const spans = outputs.map(
    (t) =>
      JSON.parse(t.slice(t.indexOf("{"), t.lastIndexOf("}") + 1)) as {
        start: number;
        end: number;
        cpuMs: number;
      },
  );
  const wall = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
  const final = await store.read();
  await store.close();
  const total = processes * count;
  return {
    total,
    perSecond: (total / wall) * 1000,
    lost: total + 1 - (final?.seq ?? 0),
    clientMs: spans.reduce((sum, s) => sum + s.cpuMs, 0) / total,
    serverMs: serverBefore === null || serverAfter === null ? null : (serverAfter - serverBefore) / total,
  };
}

/**
 * CPU used so far (ms) by the PostgreSQL server listening on `port`: its postmaster, with the children it
 * has reaped, and its live children (Linux /proc; null elsewhere or when it cannot be found).
 */
function serverCpuMs(port: number): number | null {
  const msPerTick = 1000 / 100; // USER_HZ
  const fields = (pid: string) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    } catch {
      return null;
    }
  };
  const command = (pid: string) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      return [];
    }
  };
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const master = pids.find((pid) => {
    const args = command(pid);
    return (
      args[0]?.endsWith("/postgres") && args.some((arg, i) => arg === "-p" && args[i + 1] === String(port))
    );
  });
  const own = master ? fields(master) : null;
  if (!master || !own) return null;
  // After the state: ppid is field 1; utime, stime, cutime, cstime are fields 11 to 14.
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of pids) {
    const child = fields(pid);
    if (child && child[1] === master) ticks += Number(child[11]) + Number(child[12]);
  }
  return ticks * msPerTick;
}

/**
 * From the start of a change's transaction (in this process) to the line `watch` prints for it: the
 * built CLI in another process, following the run by LISTEN/NOTIFY (its polling interval set to a minute,
 * so only notifications count).
 */
async function watchLatency(server: TestPostgres, samples: number) {
  const { url } = await server.createDatabase("bench_watch");
  const writer = new PgRunStore({ url, epicId: "BENCH-W", maxConnections: 1 });
  const { createRun, applyProgress } = await import("../src/model/run.js");
  const run = await writer.transact((_c, now) => {
    const next = createRun({
      epicId: "BENCH-W",
      domains: ["api"],
      now,
      github: {
        issueNumber: null,
        repo: null,
        apiUrl: "x",
        syncEnabled: false,
        commentMode: "edit",
        minIntervalMs: 0,
      },
      nonce: "0000",
    });
    return { next, result: next };
  });
  const id = Object.keys(run.agents)[0]!;
  const env = cleanEnv({ PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "BENCH-W" });
  const watch = spawn(process.execPath, [BIN, "watch", "--interval", "60000"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let lines = 0;
  let heard: (() => void) | null = null;
  let buffer = "";
  watch.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines += parts.length;
    if (parts.length > 0) heard?.();
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < 100 && lines === 0; i++) await new Promise((r) => setTimeout(r, 50));
    if (lines === 0) throw new Error("watch printed nothing");
    for (let i = 1; i <= samples; i++) {
      const before = lines;
      const printed = new Promise<void>((resolve) => {
        heard = () => {
          if (lines > before) resolve();
        };
      });
      const started = performance.now();
      await writer.transact((current, now) => ({
        next: applyProgress(
          current!,
          id,
          { status: "in_progress", filesCompleted: i, filesTotal: samples + 1 },
          now,
        ),
        result: undefined,
      }));
      await Promise.race([printed, new Promise((r) => setTimeout(r, 2000))]);
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 40)); // past watch's 25 ms gathering of notifications
    }
  } finally {
    watch.kill("SIGTERM");
    await writer.close();
  }
  return { p50: median(latencies), p95: quantile(latencies, 0.95) };
}
