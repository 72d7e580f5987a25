import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";
import { atLeastRealTime, REAL_TIME_SLACK_MS } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * A clock that never moves (`{ now: () => fixed }`, for stable timestamps) makes no later write of the run
 * due: the calls, their waits and the timer writer are bounded by real time all the same, and what is not
 * written is queued. With waits on the injected clock alone, finalize never resolved and the timer writer
 * kept the process alive for hours.
 */
function frozenReporter() {
  const fs = createFsFromVolume(new Volume());
  fs.mkdirSync("/epic", { recursive: true });
  const fixed = Date.parse("2025-01-01T00:00:00Z");
  const client = new MemoryClient();
  const reporter = createParallelReporter("/epic", {
    fs,
    env: {},
    client,
    clock: { now: () => fixed },
    github: { issueNumber: 5, repo: "o/r" },
  });
  return { reporter, client };
}

describe("a reporter on a frozen clock", () => {
  it.concurrent("finalize resolves, the final summary queued", { timeout: 25_000 }, async () => {
    const { reporter, client } = frozenReporter();
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.updateAgentProgress("a", "completed", 2, 2);
    const result = await reporter.finalizeParallelExecution("merged");
    await reporter.close();
    expect(client.comments).toHaveLength(1); // the progress comment: no later write fell due
    expect(result).toMatchObject({ finalizedNow: true, posted: false });
    expect(result.queued).toBeGreaterThan(0);
  });

  it.concurrent("its timer writer ends (flush() resolves), the latest state queued", {
    timeout: 25_000,
  }, async () => {
    const { reporter, client } = frozenReporter();
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    await reporter.flush();
    expect((await reporter.status()).sync.queued).toBe(1);
    await reporter.close();
    expect(client.comments[0]!.body).not.toContain("| 1/2 |");
  });
});

describe("atLeastRealTime", () => {
  it("is the clock while it keeps up with real time; one that stands still more than the slack moves on with real time", () => {
    let clock = 1000;
    let real = 0;
    const timer = atLeastRealTime({ now: () => clock }, () => real);
    expect(timer.now()).toBe(1000);
    real = REAL_TIME_SLACK_MS; // standing still for the slack: still the clock
    expect(timer.now()).toBe(1000);
    real = REAL_TIME_SLACK_MS + 500; // longer: real time
    expect(timer.now()).toBe(1500);
    clock = 5000; // moved on: the clock again
    real += 100;
    expect(timer.now()).toBe(5000);
    clock = 2000; // set back: real time from where it was, less the slack
    real += 300;
    expect(timer.now()).toBe(5000 - REAL_TIME_SLACK_MS + 300);
  });

  it("gives whole milliseconds when real time has fractions (performance.now()'s), after a step back too", () => {
    let clock = 1000;
    let real = 0.25;
    const timer = atLeastRealTime({ now: () => clock }, () => real);
    expect(timer.now()).toBe(1000);
    clock = -4000; // stepped back 5 s
    real += 300.6;
    expect(timer.now()).toBe(1000 - REAL_TIME_SLACK_MS + 300);
    real += 0.5;
    expect(timer.now()).toBe(1000 - REAL_TIME_SLACK_MS + 301);
  });
});
