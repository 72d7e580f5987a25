import nodeFs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { afterEach, describe, expect, it } from "vitest";
import { createRun } from "../../src/model/run.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import { withRunLock } from "../../src/sync/run-lock.js";
import type { FileSystem } from "../../src/util/io.js";
import { sleep } from "../../src/util/sleep.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

const start = (store: FileRunStore) =>
  store.transact((_s, now) => ({
    next: createRun({ epicId: "E", domains: ["a"], now, github, nonce: "00" }),
    result: 0,
  }));

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = "";
});

describe("the queue-retry lock, a lease in the run state", () => {
  it("runs one holder at a time; a waiter is woken by the holder's release", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-lock-"));
    const store = new FileRunStore(nodeFs, dir);
    await start(store);
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = withRunLock({ store, owner: "one", sleep }, async () => {
      order.push("one in");
      await held;
      order.push("one out");
    });
    for (let i = 0; i < 200 && (await store.read())!.sync.retryLock === null; i++) await sleep(5);
    const second = withRunLock({ store, owner: "two", sleep }, async () => {
      order.push("two in");
      return (await store.read())!.sync.retryLock?.owner;
    });
    await sleep(50);
    expect(order).toEqual(["one in"]);
    release();
    await first;
    expect(await second).toBe("two");
    expect(order).toEqual(["one in", "one out", "two in"]);
    expect((await store.read())!.sync.retryLock).toBeNull();
    await store.close();
  });

  it("takes over a dead holder's lock once it expires on the store's clock", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    let now = 1_000_000;
    const store = new FileRunStore(fs, "/epic", { clock: { now: () => now } });
    await start(store);
    await store.transact((s) => ({
      next: { ...s!, sync: { ...s!.sync, retryLock: { owner: "dead", expiresAt: now + 15_000 } } },
      result: 0,
    }));
    const waited: number[] = [];
    const owner = await withRunLock(
      {
        store,
        owner: "alive",
        sleep: async (ms) => {
          waited.push(ms);
          now += ms;
        },
        waitMs: 60_000,
      },
      async () => (await store.read())!.sync.retryLock?.owner,
    );
    expect(owner).toBe("alive");
    expect(waited).toEqual([15_000]);
  });

  it("gives up with a clear error when the holder stays longer than the caller waits", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const store = new FileRunStore(fs, "/epic");
    await start(store);
    await store.transact((s, now) => ({
      next: { ...s!, sync: { ...s!.sync, retryLock: { owner: "busy", expiresAt: now + 60_000 } } },
      result: 0,
    }));
    await expect(withRunLock({ store, owner: "me", sleep, waitMs: 30 }, async () => 0)).rejects.toThrow(
      /another queue retry of \/epic\/.parallel-progress\/state.json held its lock/,
    );
  });
});

describe("a waiter whose subscription starts slowly (a database's LISTEN connection)", () => {
  it("takes the lock released meanwhile at once, rather than wait for a notification that came before it listened", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const store = new FileRunStore(fs, "/epic");
    await start(store);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = withRunLock({ store, owner: "one", sleep }, () => held);
    for (let i = 0; i < 200 && (await store.read())!.sync.retryLock === null; i++) await sleep(5);
    // The holder is done and releases the lock after the waiter found it busy, before it listens.
    const slow: RunStore = {
      location: store.location,
      read: () => store.read(),
      transact: (change) => store.transact(change),
      subscribe: async (listener) => {
        release();
        await first;
        return store.subscribe(listener);
      },
      close: () => store.close(),
    };
    const waits: number[] = [];
    const owner = await withRunLock(
      {
        store: slow,
        owner: "two",
        leaseMs: 60_000,
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
      async () => (await store.read())!.sync.retryLock?.owner,
    );
    expect(owner).toBe("two");
    expect(waits).toEqual([]);
    await store.close();
  });
});
