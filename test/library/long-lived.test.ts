import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createParallelReporter,
  createPostgresStore,
  type ParallelProgressReporter,
  StoreUnavailableError,
  UsageError,
} from "../../src/index.js";
import type { PgRunStore } from "../../src/store/pg/pg-store.js";
import { startFakeGitHub } from "../support/fake-github/index.js";
import { MemoryClient } from "../support/memory-client.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * The library as long-lived orchestration code uses it: several reporters of one run in one process,
 * called at once (Promise.all over agents), for thousands of calls, then closed; on the file store and
 * on the PostgreSQL store with its pool.
 */

const skipPg = postgresUnavailable();
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function epicDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pp-long-"));
  folders.push(dir);
  return dir;
}

const DOMAINS = ["api", "db", "docs", "ui"];

/**
 * Every agent updated `each` times, each call by one of `reporters` in turn, all at once; resolves to the
 * sequence numbers of the `change` events the reporters emitted.
 */
async function burst(reporters: ParallelProgressReporter[], each: number): Promise<number[]> {
  const seqs: number[] = [];
  for (const reporter of reporters) reporter.on("change", (state) => seqs.push(state.seq));
  await Promise.all(
    DOMAINS.flatMap((domain, d) =>
      Array.from({ length: each }, (_, i) =>
        reporters[(d + i) % reporters.length]!.updateAgentProgress(domain, "in_progress", i + 1, each),
      ),
    ),
  );
  return seqs;
}

/** 2, 3, …: the numbers after init's 1. */
const consecutive = (count: number) => Array.from({ length: count }, (_, i) => i + 2);

describe("many calls at once, in one process", () => {
  it("file store: three reporters of one run, 40 calls at once: none lost, sequence numbers consecutive", async () => {
    const dir = await epicDir();
    const reporters = [0, 1, 2].map(() => createParallelReporter(dir, { env: {} }));
    await reporters[0]!.initializeParallelTracking("E", DOMAINS);
    const seqs = await burst(reporters, 10);
    // The file store changes under one lock: each change's state is the stored one.
    expect(seqs.sort((a, b) => a - b)).toEqual(consecutive(40));
    const state = (await reporters[1]!.load())!;
    expect(state.seq).toBe(1 + 40);
    expect(Object.values(state.agents).map((a) => a.filesTotal)).toEqual([10, 10, 10, 10]);
    await Promise.all(reporters.map((r) => r.close()));
  });

  it("file store: init by four reporters at once in a new directory starts one run; the others are refused with UsageError", async () => {
    const dir = await epicDir();
    const reporters = [0, 1, 2, 3].map(() => createParallelReporter(dir, { env: {} }));
    const outcomes = await Promise.allSettled(
      reporters.map((r) => r.initializeParallelTracking("E", DOMAINS)),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") continue;
      // Not ENOENT from the lock of a state folder that another of them had just made.
      expect(outcome.reason).toBeInstanceOf(UsageError);
      expect((outcome.reason as Error).message).toMatch(
        /^initializeParallelTracking: run E-\S+ \(epic E\) is still active here: /,
      );
    }
    await Promise.all(reporters.map((r) => r.close()));
  });

  it.skipIf(skipPg)(
    "PostgreSQL store: reporters on one pooled store and on a second store, 40 calls at once: none lost, the stored sequence consecutive",
    async () => {
      const { url, name } = await sharedPostgres().createDatabase("long");
      const stores = [
        createPostgresStore({ url, epicId: "E", maxConnections: 3 }),
        createPostgresStore({ url, epicId: "E", maxConnections: 2 }),
      ];
      const dir = await epicDir();
      const reporters = [stores[0]!, stores[0]!, stores[1]!].map((store) =>
        createParallelReporter(dir, { env: {}, store }),
      );
      await reporters[0]!.initializeParallelTracking("E", DOMAINS);
      await burst(reporters, 10);
      const state = (await stores[1]!.read())!;
      expect(state.seq).toBe(1 + 40);
      const events = await sharedPostgres().sql<{ seq: number }>(
        name,
        "SELECT seq FROM parallel_progress.events ORDER BY seq",
      );
      expect(events.map((e) => Number(e.seq))).toEqual([1, ...consecutive(40)]);
      await Promise.all(reporters.map((r) => r.close()));
      await Promise.all(stores.map((s) => s.close()));
    },
  );
});

describe.skipIf(skipPg)("a burst bigger than the pool", () => {
  it("calls at once on one connection wait their turn while calls get through: none is taken for a database not answering", async () => {
    const server = sharedPostgres();
    const { url, name } = await server.createDatabase("long");
    // The pool's own queue gave up after the connect timeout, however busy: here 2.5 s, where each change
    // takes 0.1 s at least (a trigger sleeps in it) and 30 of them one after the other take 3 s or more,
    // so most calls rejected ("timeout exceeded when trying to connect"). A turn is 0.1 s: only a pause
    // of the machine of over two seconds between two could make the waiting calls give up (with 1 s, a
    // loaded machine's pause did once).
    const store = createPostgresStore({ url, epicId: "E", maxConnections: 1, connectTimeoutMs: 2500 });
    const reporter = createParallelReporter(await epicDir(), { env: {}, store });
    const domains = Array.from({ length: 5 }, (_, i) => `d${i}`);
    await reporter.initializeParallelTracking("E", domains);
    await server.sql(
      name,
      `CREATE FUNCTION public.slowly() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END $$;
       CREATE TRIGGER slowly BEFORE UPDATE ON parallel_progress.runs
         FOR EACH ROW EXECUTE FUNCTION public.slowly();`,
    );
    const started = performance.now();
    const outcomes = await Promise.allSettled(
      domains.flatMap((d) =>
        Array.from({ length: 6 }, (_, i) => reporter.updateAgentProgress(d, "in_progress", i, 6)),
      ),
    );
    expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
    expect((await store.read())!.seq).toBe(1 + 30);
    // What makes the case: the calls waited, all told, longer than the connect timeout.
    expect(performance.now() - started).toBeGreaterThan(2500);
    await reporter.close();
    await store.close();
  });

  it("on a database that does not answer, the calls waiting their turn give up with the first: one connection tried, not one each", async () => {
    // Accepts connections and never answers (a host that went silent).
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const url = `postgresql://u:pw@127.0.0.1:${port}/db`;
      const store = createPostgresStore({ url, epicId: "E", maxConnections: 1, connectTimeoutMs: 300 });
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => store.read()));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      }
      expect(sockets).toHaveLength(1);
      await store.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("a long run", () => {
  /** The handles and listeners that would grow with a leak. */
  function holding(reporter: ParallelProgressReporter) {
    const resources = process.getActiveResourcesInfo().sort();
    const listeners = reporter.eventNames().map((name) => [name, reporter.listenerCount(name)]);
    return { resources, listeners };
  }

  /**
   * What the process holds once the handles closed so far are gone: a closed watcher's handle goes in the
   * close phase of the event loop's turn, which ends before the next turn's setImmediate.
   */
  async function settledHolding(reporter: ParallelProgressReporter) {
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    return holding(reporter);
  }

  it("file store, 5,000 updates synced to GitHub through the background writer: no handle, timer or listener more at the end", async () => {
    const dir = await epicDir();
    const client = new MemoryClient();
    const reporter = createParallelReporter(dir, {
      env: {},
      client,
      // Writes 20 ms apart: most updates are left to the timer writer, which starts and stops many times.
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 20 },
    });
    reporter.on("change", () => undefined);
    await reporter.initializeParallelTracking("E", DOMAINS);
    let first: ReturnType<typeof holding> | null = null;
    for (let i = 0; i < 5000; i++) {
      await reporter.updateAgentProgress(DOMAINS[i % 4]!, "in_progress", i % 50, 50);
      if (i === 99) {
        await reporter.flush();
        first = await settledHolding(reporter);
      }
    }
    await reporter.flush();
    expect(await settledHolding(reporter)).toEqual(first);
    expect(client.comments).toHaveLength(1);
    expect(client.comments[0]!.body).toContain("| 49/50 |");
    await reporter.close();
    // 8 s alone; 36 s seen on a loaded machine (three CPU burners beside the suite): a bound for a hang only.
  }, 120_000);

  it.skipIf(skipPg)(
    "PostgreSQL store, 2,000 updates, four at once each time: the pool stays within its size, no connection is kept checked out",
    async () => {
      const { url } = await sharedPostgres().createDatabase("long");
      const store = createPostgresStore({ url, epicId: "E", maxConnections: 4 });
      const reporter = createParallelReporter(await epicDir(), { env: {}, store });
      await reporter.initializeParallelTracking("E", DOMAINS);
      const pool = ((await store.load()) as unknown as { pool: { totalCount: number; idleCount: number } })
        .pool;
      let first: ReturnType<typeof holding> | null = null;
      for (let i = 0; i < 500; i++) {
        await Promise.all(DOMAINS.map((d) => reporter.updateAgentProgress(d, "in_progress", i % 50, 50)));
        expect(pool.totalCount).toBeLessThanOrEqual(4);
        expect(pool.idleCount).toBe(pool.totalCount);
        if (i === 24) first = await settledHolding(reporter);
      }
      expect(await settledHolding(reporter)).toEqual(first);
      expect((await store.read())!.seq).toBe(1 + 2000);
      await reporter.close();
      await store.close();
    },
  );
});

describe.skipIf(skipPg)("createPostgresStore: close()", () => {
  it("closed before its first use: every later use rejects with StoreUnavailableError, and opens no connection", async () => {
    const { url, name } = await sharedPostgres().createDatabase("long");
    const store = createPostgresStore({ url, epicId: "E" });
    await store.close();
    const uses: [string, () => Promise<unknown>][] = [
      ["read", () => store.read()],
      ["transact", () => store.transact(() => ({ result: 0 }))],
      ["subscribe", () => store.subscribe(() => undefined)],
      ["a reporter's status", () => createParallelReporter(".", { env: {}, store }).status()],
    ];
    for (const [what, use] of uses) {
      const error = await use().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message, what).toMatch(/: the store is closed$/);
    }
    const connections = await sharedPostgres().sql<{ n: number }>(
      "postgres",
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
      [name],
    );
    expect(connections[0]!.n).toBe(0);
    await store.close();
  });

  it("a reporter closed while its calls are under way lets them finish; the store closed after it then closes cleanly", async () => {
    const { url } = await sharedPostgres().createDatabase("long");
    const store = createPostgresStore({ url, epicId: "E" });
    const reporter = createParallelReporter(await epicDir(), { env: {}, store });
    await reporter.initializeParallelTracking("E", DOMAINS);
    const calls = DOMAINS.map((d) => reporter.updateAgentProgress(d, "in_progress", 1, 2));
    await reporter.close();
    await store.close();
    await Promise.all(calls);
    const pg = (await store.load()) as PgRunStore;
    await expect(pg.read()).rejects.toThrow(/the store is closed/);
  });
});

/**
 * A child process that uses the library as orchestration code does (the source, as the package exports
 * it), with its output, exit, environment and globals watched; it must end by itself once its work is
 * done and everything is closed (a timer, socket, pool client or LISTEN connection left open would keep
 * it alive). Prints one JSON line: what it saw.
 */
const CHILD = (apiUrl: string, storeUrl: string | null, dir: string) => `
const envBefore = JSON.stringify(process.env);
const globalsBefore = new Set(Object.getOwnPropertyNames(globalThis));
const printed = [];
const writes = new Map();
for (const stream of [process.stdout, process.stderr]) {
  writes.set(stream, stream.write);
  stream.write = (chunk) => { printed.push(String(chunk)); return true; };
}
process.exit = (code) => { printed.push("process.exit(" + code + ")"); };
const problems = [];
process.on("warning", (w) => problems.push("warning: " + w.message));
process.on("unhandledRejection", (e) => problems.push("unhandled: " + e));
const lib = await import(${JSON.stringify(join(process.cwd(), "src/index.ts"))});
const warnings = [];
const options = (store) => ({
  env: { GITHUB_TOKEN: "tok" },
  github: { issueNumber: 123, repo: "acme/widgets", apiUrl: ${JSON.stringify(apiUrl)}, minIntervalMs: 50 },
  onWarning: (m) => warnings.push(m),
  ...(store ? { store } : {}),
});
const storeUrl = ${JSON.stringify(storeUrl)};
const stores = storeUrl ? [lib.createPostgresStore({ url: storeUrl, epicId: "E" }), lib.createPostgresStore({ url: storeUrl, epicId: "E" })] : [];
const dir = ${JSON.stringify(dir)};
const reporters = storeUrl
  ? [lib.createParallelReporter(dir, options(stores[0])), lib.createParallelReporter(dir, options(stores[0])), lib.createParallelReporter(dir, options(stores[1]))]
  : [0, 1, 2].map(() => lib.createParallelReporter(dir, options(null)));
const agents = await reporters[0].initializeParallelTracking("E", ["api", "db", "ui"]);
let heard = 0;
const stop = await reporters[1].runStore.subscribe(() => heard++);
for (let round = 1; round <= 5; round++) {
  await Promise.all(agents.flatMap((a, i) => reporters.map((r) => r.updateAgentProgress(a.agentId, "in_progress", round, 5))));
}
await Promise.all(agents.map((a, i) => reporters[i].markAgentComplete(a.agentId, "done")));
await Promise.all(reporters.map((r) => r.flush()));
const result = await reporters[2].finalizeParallelExecution("merged");
await stop();
await Promise.all(reporters.map((r) => r.close()));
await Promise.all(reporters.map((r) => r.close()));
await Promise.all(stores.map((s) => s.close()));
const report = {
  printed, problems, warnings, posted: result.posted, heard: heard > 0,
  envSame: JSON.stringify(process.env) === envBefore,
  globals: Object.getOwnPropertyNames(globalThis).filter((name) => !globalsBefore.has(name)).sort(),
};
writes.get(process.stdout).call(process.stdout, JSON.stringify(report) + "\\n");
`;

/** Runs CHILD against a fake GitHub and checks what it saw and posted. */
async function runChild(storeUrl: string | null): Promise<void> {
  const gh = await startFakeGitHub({ tokens: { tok: "octo-bot" } });
  try {
    const script = CHILD(gh.url, storeUrl, await epicDir());
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    // No timer here: the child must end by itself (vitest's test timeout bounds the wait).
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      printed: [],
      problems: [],
      warnings: [],
      posted: true,
      heard: true,
      envSame: true,
      // zod's own, shared by its copies in a process (the library's argument checks load zod).
      globals: ["__zod_globalConfig", "__zod_globalRegistry"],
    });
    const [progress, final] = gh.comments("acme/widgets", 123);
    expect(progress!.body).toContain("**Overall:** 100% (15/15 files)");
    expect(final!.body).toContain("## 🎉 Final Summary");
  } finally {
    await gh.close();
  }
}

describe("a process that uses the library: prints nothing, changes no environment, ends by itself once closed", () => {
  it("the file store", async () => {
    await runChild(null);
  });

  it.skipIf(skipPg)("the PostgreSQL store (two pools, a LISTEN connection)", async () => {
    await runChild((await sharedPostgres().createDatabase("long")).url);
  });
});
