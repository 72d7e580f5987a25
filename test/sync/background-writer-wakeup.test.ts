import nodeFs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/errors.js";
import { applyProgress, createRun } from "../../src/model/run.js";
import { OfflineQueue } from "../../src/queue/offline-queue.js";
import { parseMarker } from "../../src/render/marker.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import { RunSyncer } from "../../src/sync/run-syncer.js";
import type { SyncDeps as RunSyncerDeps } from "../../src/sync/syncer-types.js";
import { GITHUB_TARGET } from "../render/fixtures.js";
import { MemoryClient } from "../support/memory-client.js";

let dir = "";

/** The background writer of `store` in `dir`, posting to a client in memory. */
function writerOf(store: RunStore, clock: { now: () => number }, sleep: RunSyncerDeps["sleep"]) {
  const client = new MemoryClient();
  const writer = new RunSyncer({
    store,
    queue: new OfflineQueue(nodeFs, dir, clock),
    clock,
    timer: clock,
    sleep,
    client: async () => client,
    startBackgroundWriter: () => undefined,
    warn: () => undefined,
    owner: "writer",
  });
  return { writer, client };
}
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = "";
});

describe("the background writer waits on the store's notifications", () => {
  it("follows a busy lease as soon as its holder releases it, with no timer ever firing", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-flusher-"));
    let now = Date.parse("2026-01-05T10:00:00Z");
    const clock = { now: () => now };
    const store = new FileRunStore(nodeFs, dir, { clock });
    await store.transact((_s, at) => ({
      next: createRun({ epicId: "E", domains: ["a"], now: at, github: GITHUB_TARGET, nonce: "00" }),
      result: 0,
    }));
    // Another process holds the write lease for 15 s more.
    await store.transact((s, at) => ({
      next: { ...s!, sync: { ...s!.sync, lease: { owner: "other", expiresAt: at + 15_000 } } },
      result: 0,
    }));
    // Timers that never fire: the background writer can only move on when a notification wakes it.
    const waits: number[] = [];
    const sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        waits.push(ms);
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    const { writer, client } = writerOf(store, clock, sleep);
    const done = writer.runBackgroundWriter();
    for (let i = 0; i < 500 && waits.length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(waits.length).toBeGreaterThan(0); // waiting for the lease, on a timer that will not fire
    expect(client.comments).toHaveLength(0);

    // The other process writes its change and releases the lease (as its record does), from its own handle.
    now += 300;
    const other = new FileRunStore(nodeFs, dir, { clock });
    await other.transact((s, at) => ({
      next: {
        ...applyProgress(
          s!,
          Object.keys(s!.agents)[0]!,
          { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
          at,
        ),
        sync: { ...s!.sync, lease: null },
      },
      result: 0,
    }));
    await done;
    expect(parseMarker(client.comments[0]!.body)?.seq).toBe(2);
    expect((await store.read())!.sync).toMatchObject({ postedSeq: 2, flusher: null });
    await store.close();
  });

  it("asks a database that stopped answering again, rather than end with its claim held", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-flusher-"));
    const clock = { now: () => Date.now() };
    const files = new FileRunStore(nodeFs, dir, { clock });
    await files.transact((_s, at) => ({
      next: createRun({ epicId: "E", domains: ["a"], now: at, github: GITHUB_TARGET, nonce: "00" }),
      result: 0,
    }));
    // A database down for a while (a failover): its transactions fail 8 times after the writer took its
    // claim, longer than the writer's first few waits (it gave up after 15.5 s).
    let refusals = 0;
    const store: RunStore = {
      location: files.location,
      read: () => files.read(),
      subscribe: (listener) => files.subscribe(listener),
      close: () => files.close(),
      transact: (change) => {
        if (refusals++ >= 1 && refusals <= 9) {
          return Promise.reject(new StoreUnavailableError("the database is not answering"));
        }
        return files.transact(change);
      },
    };
    const waits: number[] = [];
    const { writer, client } = writerOf(store, clock, async (ms) => {
      waits.push(ms);
    });
    await writer.runBackgroundWriter();
    expect(waits.slice(0, 8)).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    expect(parseMarker(client.comments[0]!.body)?.seq).toBe(1);
    expect((await files.read())!.sync).toMatchObject({ postedSeq: 1, flusher: null });
    await files.close();
  });
});
