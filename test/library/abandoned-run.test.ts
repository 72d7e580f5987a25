import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GitHubError, StoreUnavailableError } from "../../src/errors.js";
import { createParallelReporter, createPostgresStore, type RunStore } from "../../src/index.js";
import { parseMarker } from "../../src/render/marker.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { nodeFileSystem } from "../../src/util/node-fs.js";
import { waitFor } from "../support/cli.js";
import { GatedClient } from "../support/gated-client.js";
import { MemoryClient } from "../support/memory-client.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * `init --force` abandons the open run it replaces: the issue's progress comment of that run is edited to
 * say so (queued by init, sent by retry or the new run's finalize), and it gets no final summary.
 */
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

const github = { issueNumber: 5, repo: "o/r", minIntervalMs: 0 };
const ABANDONED = "**Run abandoned: a new run of the epic was started (init --force)**";

async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pp-abandon-"));
  folders.push(dir);
  return dir;
}

interface Queued {
  run_id: string;
  kind: string;
  comment: string;
  abandoned?: boolean;
  unsure_until: string | null;
}

async function queued(dir: string): Promise<Queued[]> {
  const queue = join(dir, ".github_parallel_queue");
  const names = (await readdir(queue).catch(() => [])).filter((name) => name.endsWith(".json"));
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(queue, name), "utf8"))));
}

/**
 * A run of E1 (posted, or with `githubDown` only queued; with `deleted` its comment then deleted by
 * someone), replaced by `init --force`, then a retry.
 */
async function abandonAndRetry(
  options: { store?: () => RunStore; githubDown?: boolean; deleted?: boolean } = {},
) {
  const dir = await folder();
  const client = new MemoryClient();
  const store = options.store?.();
  const reporter = createParallelReporter(dir, { env: {}, client, github, ...(store ? { store } : {}) });
  const warnings: string[] = [];
  reporter.on("warning", (message: string) => warnings.push(message));
  try {
    if (options.githubDown) client.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
    await reporter.initializeParallelTracking("E1", ["a", "b"]);
    await reporter.updateAgentProgress("a", "in_progress", 3, 10);
    await reporter.flush();
    const oldRun = reporter.executionState!.runId;
    client.down = null;
    if (options.deleted) client.comments = [];
    warnings.length = 0;
    await reporter.initializeParallelTracking("E1", ["c"], undefined, { force: true });
    const queue = await queued(dir);
    await reporter.retryOfflineQueue();
    return { dir, client, oldRun, warnings, queue, reporter };
  } finally {
    await reporter.close();
    await store?.close();
  }
}

/**
 * A run of E1 abandoned by a second reporter's `init --force` while the first reporter's create of its
 * progress comment waits at GitHub; then the create lands (or, `failHeld`, fails) and the second reporter
 * retries, `later` ms on.
 */
async function abandonWhileCreating(options: { store?: () => RunStore; failHeld?: boolean; later?: number }) {
  const dir = await folder();
  const client = new GatedClient("createComment", true);
  let shift = 0;
  const clock = { now: () => Date.now() + shift };
  const stores = [options.store?.(), options.store?.()];
  const reporter = (store: RunStore | undefined) =>
    createParallelReporter(dir, { env: {}, client, github, clock, ...(store ? { store } : {}) });
  const [first, second] = [reporter(stores[0]), reporter(stores[1])];
  try {
    client.close();
    client.failHeld = options.failHeld ?? false;
    const creating = first.initializeParallelTracking("E1", ["a", "b"]);
    expect(await waitFor(() => client.waiting > 0, 10_000)).toBe(true);
    const oldRun = (await first.load())!.runId;
    await second.initializeParallelTracking("E1", ["c"], undefined, { force: true });
    const queue = await queued(dir);
    client.open();
    await creating;
    shift = options.later ?? 0;
    const report = await second.retryReport();
    return { dir, client, oldRun, queue, report };
  } finally {
    client.open();
    await first.close();
    await second.close();
    for (const store of stores) await store?.close();
  }
}

/**
 * A run of E1 whose latest table is only queued (GitHub down), then an `init --force` interrupted: its
 * store commits the new run and the process stops right after (`killed`), or the store fails without
 * committing (`failed`); then a retry by the first reporter, GitHub back. `store`: a store of the
 * directory's run (default: the file store).
 */
async function forceInterrupted(how: "killed" | "failed", store?: () => RunStore) {
  const dir = await folder();
  const client = new MemoryClient();
  const mine = store?.();
  const inner: RunStore = store?.() ?? new FileRunStore(nodeFileSystem(), dir);
  const interrupted: RunStore = {
    location: inner.location,
    read: () => inner.read(),
    ...(inner.now ? { now: () => inner.now!() } : {}),
    transact: async (change) => {
      if (how === "failed") throw new StoreUnavailableError("the store is not answering");
      await inner.transact(change);
      throw new Error("killed right after the commit");
    },
    subscribe: (listener) => inner.subscribe(listener),
    close: () => inner.close(),
  };
  const open = (given?: RunStore) =>
    createParallelReporter(dir, { env: {}, client, github, ...(given ? { store: given } : {}) });
  const [first, second] = [open(mine), open(interrupted)];
  try {
    await first.initializeParallelTracking("E1", ["a", "b"]);
    client.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
    await first.updateAgentProgress("a", "in_progress", 3, 10);
    await first.flush();
    const oldRun = first.executionState!.runId;
    client.down = null;
    await expect(
      second.initializeParallelTracking("E1", ["c"], undefined, { force: true }),
    ).rejects.toThrow();
    const queue = await queued(dir);
    await first.retryReport();
    return { client, dir, oldRun, queue, current: (await first.load())!.runId };
  } finally {
    await first.close();
    await second.close();
    await mine?.close();
    await inner.close();
  }
}

const progressOf = (client: MemoryClient, runId: string) =>
  client.comments.filter((c) => {
    const marker = parseMarker(c.body);
    return marker?.kind === "progress" && marker.runId === runId;
  });

describe.concurrent("a run abandoned by init --force", () => {
  it("has its progress comment marked abandoned by the next retry, and no final summary", async () => {
    const { client, oldRun, warnings, queue } = await abandonAndRetry();

    expect(queue.map((item) => [item.run_id, item.kind])).toEqual([[oldRun, "progress"]]);
    expect(warnings).toEqual([
      `run ${oldRun} was abandoned (init --force): its progress comment is marked so once \`parallel-progress retry\` (or this run's finalize) sends the queued edit`,
    ]);
    const [old] = progressOf(client, oldRun);
    expect(progressOf(client, oldRun)).toHaveLength(1);
    expect(old!.body).toContain(ABANDONED);
    expect(old!.body).toContain("| 3/10 |");
    expect(old!.body).not.toContain("**ETA:**");
    expect(client.comments.filter((c) => parseMarker(c.body)?.kind === "final")).toEqual([]);
  });

  it("that only the queue held (GitHub down all along) is queued once, marked, and never posted", async () => {
    const { client, dir, oldRun, queue } = await abandonAndRetry({ githubDown: true });

    expect(queue.filter((item) => item.run_id === oldRun).map((item) => item.kind)).toEqual(["progress"]);
    expect(queue.find((item) => item.run_id === oldRun)!.comment).toContain(ABANDONED);
    // The issue never showed it: the mark is an edit only, dropped once the issue is seen without it.
    expect(progressOf(client, oldRun)).toEqual([]);
    expect(await queued(dir)).toEqual([]);
  });

  it("whose comment someone deleted gets no new comment: the mark is dropped", async () => {
    const { client, dir, oldRun, queue } = await abandonAndRetry({ deleted: true });

    expect(queue.map((item) => [item.run_id, item.kind])).toEqual([[oldRun, "progress"]]);
    expect(progressOf(client, oldRun)).toEqual([]);
    expect(client.comments).toHaveLength(1); // the new run's
    expect(await queued(dir)).toEqual([]);
  });

  it("that never reached the issue is not posted to be marked", async () => {
    const dir = await folder();
    const client = new MemoryClient();
    const reporter = createParallelReporter(dir, { env: {}, client, github });
    const warnings: string[] = [];
    reporter.on("warning", (message: string) => warnings.push(message));
    try {
      // GitHub down from the start, and the queue's posts deleted: the issue never showed the run.
      client.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
      await reporter.initializeParallelTracking("E1", ["a"]);
      const oldRun = reporter.executionState!.runId;
      await rm(join(dir, ".github_parallel_queue"), { recursive: true, force: true });
      warnings.length = 0;
      await reporter.initializeParallelTracking("E1", ["c"], undefined, { force: true });
      expect((await queued(dir)).filter((item) => item.run_id === oldRun)).toEqual([]);
      expect(warnings.filter((w) => w.includes("abandoned"))).toEqual([]);
    } finally {
      await reporter.close();
    }
  });

  it("while its first comment is being created has it marked once it lands", async () => {
    const { client, dir, oldRun, queue } = await abandonWhileCreating({});

    // Not posted yet, but a write of it was in progress (its lease held): the mark is queued.
    expect(queue.map((item) => [item.run_id, item.abandoned])).toEqual([[oldRun, true]]);
    expect(queue[0]!.unsure_until).not.toBeNull();
    expect(progressOf(client, oldRun).map((c) => c.body.includes(ABANDONED))).toEqual([true]);
    expect(await queued(dir)).toEqual([]);
  });

  it("while a create that never lands was in progress has no comment: the mark waits for it, then is dropped", async () => {
    const { client, dir, oldRun, report } = await abandonWhileCreating({ failHeld: true });
    expect(progressOf(client, oldRun)).toEqual([]);
    expect(report.errors.join("\n")).toContain("not marked abandoned yet");
    expect((await queued(dir)).map((item) => item.run_id)).toEqual([oldRun]);

    const after = await abandonWhileCreating({ failHeld: true, later: 60_000 });
    expect(progressOf(after.client, after.oldRun)).toEqual([]);
    expect(await queued(after.dir)).toEqual([]);
  });

  it("by an init killed right after its commit is marked all the same (queued before the commit)", async () => {
    const { client, dir, oldRun, queue, current } = await forceInterrupted("killed");
    expect(current).not.toBe(oldRun);
    expect(queue.map((item) => [item.run_id, item.abandoned])).toEqual([[oldRun, true]]);
    const [old] = progressOf(client, oldRun);
    expect(progressOf(client, oldRun)).toHaveLength(1);
    expect(old!.body).toContain(ABANDONED);
    expect(old!.body).toContain("| 3/10 |");
    expect(await queued(dir)).toEqual([]);
  });

  it("is not marked by an init that failed after queuing the mark: a retry writes the run as it is", async () => {
    const { client, dir, oldRun, queue, current } = await forceInterrupted("failed");
    expect(current).toBe(oldRun);
    // The mark replaced the run's queued table of the same state; the run being the store's, it is its entry.
    expect(queue.map((item) => [item.run_id, item.abandoned])).toEqual([[oldRun, true]]);
    const [old] = progressOf(client, oldRun);
    expect(progressOf(client, oldRun)).toHaveLength(1);
    expect(old!.body).not.toContain(ABANDONED);
    expect(old!.body).toContain("| 3/10 |");
    expect(await queued(dir)).toEqual([]);
  });

  it("of a local run queues nothing", async () => {
    const dir = await folder();
    const reporter = createParallelReporter(dir, { env: {} });
    const warnings: string[] = [];
    reporter.on("warning", (message: string) => warnings.push(message));
    try {
      await reporter.initializeParallelTracking("E1", ["a"]);
      await reporter.initializeParallelTracking("E1", ["c"], undefined, { force: true });
      expect(await queued(dir)).toEqual([]);
      expect(warnings.filter((w) => w.includes("abandoned"))).toEqual([]);
    } finally {
      await reporter.close();
    }
  });

  describe.skipIf(postgresUnavailable())("on a PostgreSQL store", () => {
    it("is marked the same way (the database closes it as abandoned)", async () => {
      const { url } = await sharedPostgres().createDatabase("abandon");
      const { client, oldRun, queue } = await abandonAndRetry({
        store: () => createPostgresStore({ url, epicId: "E1" }),
      });
      expect(queue.map((item) => [item.run_id, item.kind])).toEqual([[oldRun, "progress"]]);
      expect(progressOf(client, oldRun).map((c) => c.body.includes(ABANDONED))).toEqual([true]);
      expect(client.comments.filter((c) => parseMarker(c.body)?.kind === "final")).toEqual([]);
    });

    it("while its first comment is being created has it marked once it lands", async () => {
      const { url } = await sharedPostgres().createDatabase("abandon");
      const { client, oldRun, queue } = await abandonWhileCreating({
        store: () => createPostgresStore({ url, epicId: "E1" }),
      });
      expect(queue.map((item) => item.run_id)).toEqual([oldRun]);
      expect(progressOf(client, oldRun).map((c) => c.body.includes(ABANDONED))).toEqual([true]);
    });

    it("by an init killed right after its commit is marked all the same; one that failed, never", async () => {
      const { url } = await sharedPostgres().createDatabase("abandon");
      const store = () => createPostgresStore({ url, epicId: "E1" });
      const killed = await forceInterrupted("killed", store);
      expect(progressOf(killed.client, killed.oldRun).map((c) => c.body.includes(ABANDONED))).toEqual([true]);
      const other = await sharedPostgres().createDatabase("abandon");
      const failed = await forceInterrupted("failed", () =>
        createPostgresStore({ url: other.url, epicId: "E1" }),
      );
      expect(failed.current).toBe(failed.oldRun);
      expect(progressOf(failed.client, failed.oldRun).map((c) => c.body.includes(ABANDONED))).toEqual([
        false,
      ]);
      expect(await queued(failed.dir)).toEqual([]);
    });

    /**
     * Machine A posts a run of E1 (unless `neverPosted`) and then queues its latest table (GitHub down for
     * it); machine B abandons the run (`init --force`, its own queue) and sends nothing; then A retries.
     */
    /** `otherEpic`: the retry is a call under another epic in A's folder (its queue holds E1's post). */
    async function queuedOnAnotherMachine(neverPosted: boolean, otherEpic = false) {
      const { url } = await sharedPostgres().createDatabase("abandon");
      const client = new MemoryClient();
      const stores = [createPostgresStore({ url, epicId: "E1" }), createPostgresStore({ url, epicId: "E1" })];
      const aDir = await folder();
      const [a, b] = [aDir, await folder()].map((dir, index) =>
        createParallelReporter(dir, { env: {}, client, github, store: stores[index]! }),
      );
      const down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
      try {
        if (neverPosted) client.down = down;
        await a!.initializeParallelTracking("E1", ["a", "b"]);
        client.down = down;
        await a!.updateAgentProgress("a", "in_progress", 1, 4);
        await a!.flush();
        const oldRun = a!.executionState!.runId;
        await b!.initializeParallelTracking("E1", ["c"], undefined, { force: true });
        client.down = null;
        if (!otherEpic) return { client, oldRun, report: await a!.retryReport() };
        const other = createPostgresStore({ url, epicId: "E-OTHER" });
        stores.push(other);
        const elsewhere = createParallelReporter(aDir, { env: {}, client, github, store: other });
        try {
          return { client, oldRun, report: await elsewhere.retryReport() };
        } finally {
          await elsewhere.close();
        }
      } finally {
        await a!.close();
        await b!.close();
        for (const store of stores) await store.close();
      }
    }

    it("queued on another machine is sent marked: the table as the database keeps the abandoned run", async () => {
      const { client, oldRun, report } = await queuedOnAnotherMachine(false);
      expect(report.remaining).toBe(0);
      const [old] = progressOf(client, oldRun);
      expect(progressOf(client, oldRun)).toHaveLength(1);
      expect(old!.body).toContain(ABANDONED);
      expect(old!.body).toContain("| 1/4 |");
    });

    it.each([
      ["under its epic", false],
      ["under another epic (a folder reused for another run)", true],
    ])(
      "queued on another machine and never posted is not posted, retried %s: its queued table is dropped",
      async (_, otherEpic) => {
        const { client, oldRun, report } = await queuedOnAnotherMachine(true, otherEpic);
        expect(report.remaining).toBe(0);
        expect(progressOf(client, oldRun)).toEqual([]);
      },
    );

    it("whose comment someone deleted gets no new comment", async () => {
      const { url } = await sharedPostgres().createDatabase("abandon");
      const { client, dir, oldRun } = await abandonAndRetry({
        store: () => createPostgresStore({ url, epicId: "E1" }),
        deleted: true,
      });
      expect(progressOf(client, oldRun)).toEqual([]);
      expect(await queued(dir)).toEqual([]);
    });
  });
});
