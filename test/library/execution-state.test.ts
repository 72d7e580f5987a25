import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import type { FileSystem } from "../../src/util/io.js";

/** `executionState` is the newest state the reporter knows: a read that a change overtook does not replace it. */

/** The file store, whose reads wait until the test lets them through (`release`). */
function heldReads() {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  fs.mkdirSync("/epic", { recursive: true });
  const files = new FileRunStore(fs, "/epic");
  let hold = false;
  const waiting: (() => void)[] = [];
  const store: RunStore = {
    location: files.location,
    read: async () => {
      const state = await files.read();
      if (hold) await new Promise<void>((resolve) => waiting.push(resolve));
      return state;
    },
    transact: (change) => files.transact(change),
    subscribe: (listener) => files.subscribe(listener),
    close: () => files.close(),
  };
  return {
    fs,
    store,
    holdReads: () => {
      hold = true;
    },
    waiting: () => waiting.length,
    release: () => {
      hold = false;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe("executionState", () => {
  it.each(["load", "status"] as const)(
    "stays at the reporter's own change when a %s() read started before it",
    async (method) => {
      const { fs, store, holdReads, waiting, release } = heldReads();
      const reporter = createParallelReporter("/epic", { fs, store, env: {} });
      await reporter.initializeParallelTracking("E", ["a", "b"]);
      holdReads();
      const reading = reporter[method]();
      for (let turn = 0; turn < 1000 && waiting() === 0; turn++) await new Promise(setImmediate);
      expect(waiting()).toBe(1);
      await reporter.updateAgentProgress("a", "in_progress", 1, 2);
      const changed = reporter.executionState;
      release();
      await reading;
      expect(reporter.executionState).toBe(changed);
      expect(reporter.executionState.seq).toBe((await store.read())!.seq);
      // A read with no change of this reporter's meanwhile is taken as it is (another process's changes).
      await store.transact((current) => ({
        next: { ...current!, event: "by another process", seq: current!.seq + 1 },
        result: null,
      }));
      await reporter.load();
      expect(reporter.executionState.event).toBe("by another process");
    },
  );
});
