import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { IssueComment, RepoRef } from "../../src/github/types.js";
import { createParallelReporter, type ParallelProgressReporter } from "../../src/index.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import { nodeFileSystem } from "../../src/util/node-fs.js";
import { queueFiles } from "../support/cli.js";
import { MemoryClient } from "../support/memory-client.js";

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** A promise and its resolve (Promise.withResolvers is Node 22's). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A client whose edits wait while the gate is closed, telling the test when one waits. */
class GatedClient extends MemoryClient {
  private gate: ReturnType<typeof signal> | null = null;
  private waiting = signal();
  private inFlight = 0;
  /** The most edits in flight at once. */
  mostInFlight = 0;
  private inFlightReached = new Map<number, ReturnType<typeof signal>>();

  close(): void {
    this.gate = signal();
    this.waiting = signal();
  }

  /** Resolves once an edit waits at the closed gate. */
  editWaiting(): Promise<void> {
    return this.waiting.promise;
  }

  open(): void {
    this.gate?.resolve();
    this.gate = null;
  }

  /** Resolves once `count` edits are in flight at once. */
  inFlightAtOnce(count: number): Promise<void> {
    const reached = this.inFlightReached.get(count) ?? signal();
    this.inFlightReached.set(count, reached);
    if (this.mostInFlight >= count) reached.resolve();
    return reached.promise;
  }

  override async updateComment(repo: RepoRef, id: number, body: string): Promise<IssueComment> {
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    this.inFlightReached.get(this.inFlight)?.resolve();
    try {
      if (this.gate) {
        this.waiting.resolve();
        await this.gate.promise;
      }
      return await super.updateComment(repo, id, body);
    } finally {
      this.inFlight--;
    }
  }
}

/**
 * A reporter on the test's own clock (a wait passes it at once), its file store wrapped by `wrap`, its
 * run started and its comment posted.
 */
async function reporterOnTestClock(wrap: (store: RunStore) => RunStore = (store) => store) {
  const dir = await mkdtemp(join(tmpdir(), "pp-timer-writer-"));
  folders.push(dir);
  const start = Date.parse("2026-12-03T10:00:00Z");
  const clock = { now: start };
  const client = new GatedClient();
  const store = new FileRunStore(nodeFileSystem(), dir, { clock: { now: () => clock.now } });
  const reporter = createParallelReporter(dir, {
    env: {},
    client,
    store: wrap(store),
    clock: { now: () => clock.now },
    sleep: async (ms) => {
      clock.now += ms;
    },
    github: { issueNumber: 5, repo: "o/r", minIntervalMs: 300 },
  });
  await reporter.initializeParallelTracking("E", ["api"]); // the first write: the comment's post
  return { reporter, client, clock, start, store, dir };
}

/**
 * As reporterOnTestClock, with the timer writer's edit of the second change waiting at the closed gate,
 * its write lease taken at `start` + 300 ms (the interval) and its claim at `start`, both for 15 s.
 */
async function writerAtTheGate() {
  const { reporter, client, clock, start } = await reporterOnTestClock();
  client.close();
  // Within the interval: left to the timer writer.
  await reporter.updateAgentProgress("api", "in_progress", 2, 3);
  await client.editWaiting();
  return { reporter, client, clock, start };
}

describe("the library's timer writer", () => {
  /** The issue shows the latest state, and nothing is left queued. */
  async function upToDate(reporter: ParallelProgressReporter, client: GatedClient): Promise<void> {
    expect(client.comments).toHaveLength(1);
    expect(client.comments[0]!.body).toContain("| 3/3 |");
    expect(client.calls.filter((call) => call === "update:1")).toHaveLength(2);
    expect((await reporter.status()).sync.queued).toBe(0);
  }

  /** The third change made `after` ms from the start while the writer's edit waits; then the gate opens. */
  async function writtenWhenMadeAt(after: number): Promise<void> {
    const { reporter, client, clock, start } = await writerAtTheGate();
    clock.now = start + after;
    await reporter.updateAgentProgress("api", "in_progress", 3, 3);
    client.open();
    await reporter.flush();
    await upToDate(reporter, client);
    await reporter.close();
  }

  // Its 15 s from its start are over once its edit returns; its claim (and write lease) still hold, so
  // the change's call starts no writer of its own.
  it("lives on 15 s from the reporter's latest change, not from its own start: a change made as its 15 s end is written, not left queued", () =>
    writtenWhenMadeAt(14_900));

  // Its claim has expired (its write lease, taken 300 ms later, has not): the call claims a new writer.
  it("runs again for a start asked while it ends: the change whose call claimed a new writer is written", () =>
    writtenWhenMadeAt(15_100));

  it("and the calls of its reporter never write at once: a change made while the writer's edit is slow is left to the writer", async () => {
    const { reporter, client, clock, start } = await writerAtTheGate();
    // The interval since the writer's edit started is over; the edit is still in flight.
    clock.now = start + 1000;
    const third = reporter.updateAgentProgress("api", "in_progress", 3, 3);
    // Settled (the change left to the writer), or its own edit in flight beside the writer's.
    await Promise.race([third, client.inFlightAtOnce(2)]);
    expect(client.mostInFlight).toBe(1);
    await third;
    client.open();
    await reporter.flush();
    await upToDate(reporter, client);
    await reporter.close();
  });

  it("close() as a writer ends, with a change whose new writer was still to start: the change is queued, not lost", async () => {
    // The writer's last step (leaving the store's notifications) waits at a gate: it has found the issue
    // up to date and cleared its claim, and is still at work.
    const ending = signal();
    const gate = signal();
    let gated = false;
    const { reporter, client, store, dir } = await reporterOnTestClock((inner) => ({
      location: inner.location,
      read: () => inner.read(),
      transact: (change) => inner.transact(change),
      close: () => inner.close(),
      subscribe: async (listener) => {
        const stop = await inner.subscribe(listener);
        return async () => {
          if (!gated) {
            gated = true;
            ending.resolve();
            await gate.promise;
          }
          await stop();
        };
      },
    }));
    await reporter.updateAgentProgress("api", "in_progress", 2, 3); // left to the timer writer
    await ending.promise;
    // Within the interval again: the call claims a new writer, which waits for the one ending.
    await reporter.updateAgentProgress("api", "in_progress", 3, 3);
    const closing = reporter.close();
    // close() stops the writers before the gate opens (its calls are settled: it aborts within this turn).
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    await closing;
    const state = (await store.read())!;
    expect(state.sync.postedSeq).toBeLessThan(state.seq);
    const queued = await queueFiles(dir);
    expect(queued).toHaveLength(1);
    expect(await readFile(join(dir, ".github_parallel_queue", queued[0]!), "utf8")).toContain("| 3/3 |");
    expect(client.calls.filter((call) => call === "update:1")).toHaveLength(1);
  });
});
