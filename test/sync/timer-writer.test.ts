import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError, UsageError } from "../../src/errors.js";
import type { CallOptions } from "../../src/github/types.js";
import { createParallelReporter, type ReporterOptions } from "../../src/reporter.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { FileSystem } from "../../src/util/io.js";
import { TimedClient } from "../support/timed-client.js";

const TASK = "---\ngithub:\n  issue_number: 123\n  repo: acme/widgets\n---\n";

/** Once `hanging` is set, GitHub never answers: each request ends when the caller's time is up (injected clock). */
function hangingGitHub(clock: { now: number }) {
  const state = { hanging: false, hungRequests: 0 };
  const client = new TimedClient(async (options?: CallOptions) => {
    if (!state.hanging) return;
    state.hungRequests++;
    clock.now += Math.max(0, options?.timeoutMs ?? 10_000);
    throw new GitHubError("GitHub did not answer", { kind: "timeout" });
  });
  return { client, state };
}

function setup(extra: Partial<ReporterOptions> = {}) {
  const volume = Volume.fromJSON({ "/epic/task.md": TASK });
  const fs = createFsFromVolume(volume) as unknown as FileSystem;
  const time = { now: Date.parse("2025-10-19T16:30:00Z") };
  const { client, state: github } = hangingGitHub(time);
  const reporter = createParallelReporter("/epic", {
    fs,
    clock: { now: () => time.now },
    env: {},
    client,
    sleep: async (ms) => {
      time.now += ms;
    },
    ...extra,
  });
  const queued = () =>
    fs
      .readdirSync("/epic/.github_parallel_queue")
      .map(String)
      .filter((name) => name.startsWith("comment_"));
  return { fs, time, github, reporter, queued };
}

describe("the library's background writer (timer)", () => {
  it("gives up at its first failed write when GitHub hangs, so a script ends soon after its last call", async () => {
    const { time, github, reporter, queued } = setup();
    await reporter.initializeParallelTracking("E", ["a"]);
    github.hanging = true;
    time.now += 100;
    await reporter.updateAgentProgress("a", "in_progress", 1, 2); // not due yet: left to the timer
    const lastCall = time.now;
    await reporter.flush();
    // One write that hung until its deadline, no second and third try after back-offs.
    expect(github.hungRequests).toBe(1);
    expect(time.now - lastCall).toBeLessThanOrEqual(15_000);
    expect(queued()).toHaveLength(1); // the latest state waits in the queue for retry
  });

  it("does not wait out a long back-off: it queues the latest state and ends", async () => {
    const { time, reporter, queued, fs } = setup();
    await reporter.initializeParallelTracking("E", ["a"]);
    // GitHub asks to wait a minute: the run backs off, and the next change is left to the timer writer.
    await reporter.runStore.transact((state, now) => ({
      next: { ...state!, sync: { ...state!.sync, backoffUntil: now + 50_000 } },
      result: 0,
    }));
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    const lastCall = time.now;
    await reporter.flush();
    expect(time.now - lastCall).toBeLessThan(5_000); // it did not sit out the back-off
    const [name, ...more] = queued();
    expect(more).toEqual([]);
    const item = JSON.parse(String(fs.readFileSync(`/epic/.github_parallel_queue/${name}`, "utf8")));
    expect(item.seq).toBe((await reporter.load())!.seq);
    expect((await reporter.load())!.sync.flusher).toBeNull();
  });

  it("flush() queues what the issue lacks when its next write is due later than a writer waits (an interval over a minute)", async () => {
    const { reporter, queued } = setup({ github: { minIntervalMs: 61_000 } });
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2); // due in 61 s: no writer is started
    await reporter.flush();
    expect(queued()).toHaveLength(1);
    expect(reporter.executionState!.sync.postedSeq).toBeLessThan(reporter.executionState!.seq);
    await reporter.flush(); // queued once
    expect(queued()).toHaveLength(1);
    await reporter.close();
  });

  it("close() ends a waiting background writer at once and queues what the issue lacks", async () => {
    const { reporter, queued, fs } = setup({
      github: { minIntervalMs: 3000 },
      // A wait that ends only when it is aborted.
      sleep: (_ms, signal) => new Promise<void>((wake) => signal?.addEventListener("abort", () => wake())),
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    const waits: number[] = [];
    reporter.on("sync", (result) => {
      if (result.kind === "none" && result.decision?.kind === "wait") waits.push(result.decision.until);
    });
    await reporter.updateAgentProgress("a", "in_progress", 1, 2); // due in 3 s: the timer waits
    expect(waits).toHaveLength(1);
    await reporter.close();
    expect(queued()).toHaveLength(1);
    const [name] = queued();
    const item = JSON.parse(String(fs.readFileSync(`/epic/.github_parallel_queue/${name}`, "utf8")));
    expect(item.comment).toContain("| a | impl-a-163000 | 🔄 In Progress | 1/2 | 50% |");
    expect(item.reason).toBe("the background writer stopped before the issue was up to date");
    expect((await new FileRunStore(fs, "/epic").read())!.sync.flusher).toBeNull();
    await expect(reporter.updateAgentProgress("a", "completed", 2, 2)).rejects.toThrow(UsageError);
  });

  it("close() leaves the queueing to the writer it stopped: the run is read and rendered once, not again", async () => {
    const volume = Volume.fromJSON({ "/epic/task.md": TASK });
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    const store = new FileRunStore(fs, "/epic");
    let reads = 0;
    const read = store.read.bind(store);
    store.read = () => {
      reads++;
      return read();
    };
    const { reporter } = setup({
      fs,
      store,
      github: { minIntervalMs: 3000 },
      sleep: (_ms, signal) => new Promise<void>((wake) => signal?.addEventListener("abort", () => wake())),
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2); // due in 3 s: the timer waits
    reads = 0;
    await reporter.close();
    expect(reads).toBe(1); // the stopped writer's queueMissing; close() itself reads nothing more
  });
});
