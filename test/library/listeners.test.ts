import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../src/errors.js";
import { createParallelReporter } from "../../src/reporter.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * A listener of the caller's that throws: its error reaches the call (as EventEmitter's `emit` throws
 * it), but only after the reporter's own work is done. It once stopped the call between the change and
 * its GitHub write: the write lease the change had claimed held every process's writes back for 15 s.
 */

function setup() {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  fs.mkdirSync("/epic", { recursive: true });
  const client = new MemoryClient();
  const make = () =>
    createParallelReporter("/epic", {
      fs,
      env: {},
      client,
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 0 },
    });
  const row = (domain: string) =>
    client.comments.at(-1)?.body.match(new RegExp(`\\| ${domain} \\|[^\\n]*`))?.[0];
  return { make, client, row };
}

/**
 * A reporter (syncing to a MemoryClient, its warnings kept) on a file store in memory that fails with
 * `message` once `fail()` is called: its changes, and its reads too when `reads` (a database gone), not
 * its subscriptions.
 */
function onFailingStore(message: string, { reads }: { reads: boolean }) {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  fs.mkdirSync("/epic", { recursive: true });
  const files = new FileRunStore(fs, "/epic");
  let failing = false;
  const failed = () => Promise.reject(new Error(message));
  const store: RunStore = {
    location: files.location,
    read: () => (failing && reads ? failed() : files.read()),
    transact: (change) => (failing ? failed() : files.transact(change)),
    subscribe: (listener) => files.subscribe(listener),
    close: () => files.close(),
  };
  const warnings: string[] = [];
  const reporter = createParallelReporter("/epic", {
    fs,
    env: {},
    store,
    client: new MemoryClient(),
    github: { issueNumber: 5, repo: "o/r" },
    onWarning: (message) => warnings.push(message),
  });
  const fail = () => {
    failing = true;
  };
  return { reporter, warnings, fail };
}

describe("a listener that throws", () => {
  it.each(["change", "agentCompleted", "sync"] as const)(
    "on %s: the call rejects with its error once the change is saved and on the issue",
    async (event) => {
      const { make, row } = setup();
      const reporter = make();
      await reporter.initializeParallelTracking("E", ["a", "b"]);
      reporter.on(event, () => {
        throw new Error(`${event} listener bug`);
      });
      await expect(reporter.markAgentComplete("a", "done")).rejects.toThrow(`${event} listener bug`);
      expect(reporter.executionState.agents[Object.keys(reporter.executionState.agents)[0]!]!.status).toBe(
        "completed",
      );
      expect(row("a")).toContain("✅ Completed");
      // Another process's change goes to the issue at once: no lease left behind.
      await make().updateAgentProgress("b", "in_progress", 1, 2);
      expect(row("b")).toContain("🔄 In Progress | 1/2");
    },
  );

  it("on change: the other events' listeners hear the change all the same (each event is its own emit)", async () => {
    const { make } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    const heard: string[] = [];
    reporter.on("change", () => {
      throw new Error("change listener bug");
    });
    reporter.on("agentCompleted", (agent) => heard.push(`completed ${agent.domain}`));
    reporter.on("sync", (result) => heard.push(`sync ${result.kind}`));
    await expect(reporter.markAgentComplete("a", "done")).rejects.toThrow("change listener bug");
    expect(heard).toEqual(["completed a", "sync wrote"]);
  });

  it("on change at init and at finalize: the first comment and the final summary are posted all the same", async () => {
    const { make, client } = setup();
    const reporter = make();
    reporter.on("change", () => {
      throw new Error("listener bug");
    });
    await expect(reporter.initializeParallelTracking("E", ["a"])).rejects.toThrow("listener bug");
    expect(client.comments).toHaveLength(1);
    await expect(reporter.finalizeParallelExecution("merged")).rejects.toThrow("listener bug");
    expect(client.comments.at(-1)!.body).toContain("## 🎉 Final Summary");
  });
});

describe("the library's background writer (a timer in the caller's process)", () => {
  it("never ends the caller's process: a warning listener that throws in it is kept, not an unhandled rejection", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const client = new MemoryClient();
    const reporter = createParallelReporter("/epic", {
      fs,
      env: {},
      client,
      github: { issueNumber: 5, repo: "o/r" },
      onWarning: () => {
        throw new Error("onWarning bug");
      },
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    client.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
    // Not due yet (1 s after the first write): the timer writer writes it, fails, warns.
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    await reporter.flush();
    expect(
      fs.readdirSync("/epic/.github_parallel_queue").filter((n) => String(n).endsWith(".json")),
    ).toHaveLength(1);
    // The listener's error reaches the next call that does work, once that work is done.
    await expect(reporter.logAgentEvent("a", "note")).rejects.toThrow("onWarning bug");
    await reporter.close();
  });

  it("stops with a warning when the store fails under it", async () => {
    const { reporter, warnings, fail } = onFailingStore("disk gone", { reads: false });
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    fail();
    await reporter.flush();
    expect(warnings).toContain(
      "the background writer stopped: disk gone; the next call, retry or finalize brings the issue up to date",
    );
    await reporter.close();
  });

  it("close() with a store that fails (a database down) resolves with a warning: the reporter is closed", async () => {
    const { reporter, warnings, fail } = onFailingStore("database gone", { reads: true });
    await reporter.initializeParallelTracking("E", ["a"]);
    fail();
    await reporter.close();
    expect(warnings).toEqual([
      "what the issue lacks was not queued: database gone; the next call, retry or finalize brings the issue up to date",
    ]);
    await expect(reporter.status()).rejects.toThrow("status: this reporter was closed: create a new one");
  });
});

describe("a listener that returns a rejected promise (an async listener that throws)", () => {
  /** Runs `work` counting the process's unhandled rejections (one would end a caller's process). */
  async function countingUnhandled(work: () => Promise<void>): Promise<unknown[]> {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await work();
      // Node reports an unhandled rejection once the microtasks of the turn have run: one turn more.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    return unhandled;
  }

  it("is no unhandled rejection: the next call rejects with its error once its work is done", async () => {
    const { make, row } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    let failing = true;
    reporter.on("change", async () => {
      if (failing) throw new Error("async listener bug");
    });
    const unhandled = await countingUnhandled(async () => {
      await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    });
    expect(unhandled).toEqual([]);
    failing = false;
    await expect(reporter.updateAgentProgress("b", "in_progress", 1, 2)).rejects.toThrow(
      "async listener bug",
    );
    expect(row("b")).toContain("🔄 In Progress | 1/2");
    // Thrown once.
    await reporter.logAgentEvent("a", "note");
    await reporter.close();
  });

  it("in a run tracked locally (no I/O to wait on: the calls end before the error arrives), close() rejects with it", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const reporter = createParallelReporter("/epic", { fs, env: {} });
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    reporter.on("change", async () => {
      throw new Error("async listener bug");
    });
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    await reporter.updateAgentProgress("b", "in_progress", 1, 2).catch(() => undefined);
    await expect(reporter.close()).rejects.toThrow("async listener bug");
  });

  it.each([0, 20])(
    "that awaits something first (a %i ms timer): close() waits for it and rejects with its error",
    async (delay) => {
      const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
      fs.mkdirSync("/epic", { recursive: true });
      const reporter = createParallelReporter("/epic", { fs, env: {} });
      await reporter.initializeParallelTracking("E", ["a", "b"]);
      reporter.on("change", async () => {
        await new Promise((resolve) => setTimeout(resolve, delay));
        throw new Error("late async listener bug");
      });
      const unhandled = await countingUnhandled(async () => {
        await reporter.markAgentComplete("a", "done");
        await expect(reporter.close()).rejects.toThrow("late async listener bug");
      });
      expect(unhandled).toEqual([]);
    },
  );

  it("that never settles: close() waits for it 10 s at most, then resolves with a warning", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const waits: number[] = [];
    const warnings: string[] = [];
    const reporter = createParallelReporter("/epic", {
      fs,
      env: {},
      // The 10 s wait, over at once.
      sleep: async (ms) => {
        waits.push(ms);
      },
      onWarning: (message) => warnings.push(message),
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    reporter.on("change", () => new Promise(() => {}));
    await reporter.markAgentComplete("a", "done");
    await reporter.close();
    expect(waits).toEqual([10_000]);
    expect(warnings).toEqual([
      "close(): a listener's promise had not settled 10 s after the reporter's work was done; not waited for longer (what it rejects with later is not thrown)",
    ]);
  });

  it("a kept error is not lost when a later call rejects with its own listener's error: the next one throws it", async () => {
    const { make } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    const failing = async () => {
      throw new Error("kept");
    };
    reporter.on("change", failing);
    await reporter.updateAgentProgress("a", "in_progress", 1, 4);
    reporter.off("change", failing);
    await new Promise((resolve) => setImmediate(resolve)); // the rejection is kept by now
    reporter.once("change", () => {
      throw new Error("own");
    });
    await expect(reporter.updateAgentProgress("a", "in_progress", 2, 4)).rejects.toThrow("own");
    await expect(reporter.updateAgentProgress("a", "in_progress", 3, 4)).rejects.toThrow("kept");
    await reporter.close();
  });

  it("after the last call: close() rejects with its error, once the reporter's work is done", async () => {
    const { make, client } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    reporter.on("change", async () => {
      throw new Error("async listener bug");
    });
    const unhandled = await countingUnhandled(async () => {
      await reporter.finalizeParallelExecution("merged");
    });
    expect(unhandled).toEqual([]);
    expect(client.comments.at(-1)!.body).toContain("## 🎉 Final Summary");
    await expect(reporter.close()).rejects.toThrow("async listener bug");
    await expect(reporter.status()).rejects.toThrow("status: this reporter was closed: create a new one");
  });
});
