import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { describeSync } from "../../src/cli/describe-sync.js";
import { createParallelReporter } from "../../src/reporter.js";
import type { StepResult } from "../../src/sync/run-syncer.js";
import { MemoryClient } from "../support/memory-client.js";

const TASK = "---\ngithub:\n  issue_number: 123\n  repo: acme/widgets\n---\n";
const HOUR = 3_600_000;

/**
 * The --verbose line for the update that follows init, with the store's clock `skewMs` away from this
 * machine's (the database's `now()` against a machine whose clock is wrong), and whether the update
 * claimed a background writer.
 */
async function updateSeen(skewMs: number, minIntervalMs: number) {
  const fs = createFsFromVolume(Volume.fromJSON({ "/epic/task.md": TASK }));
  const storeNow = Date.now() + skewMs; // frozen: the decision's wait is the interval exactly
  let writersStarted = 0;
  const reporter = createParallelReporter("/epic", {
    fs,
    clock: { now: () => storeNow },
    env: {},
    client: new MemoryClient(),
    github: { minIntervalMs },
    flusher: () => {
      writersStarted++;
    },
  });
  const results: StepResult[] = [];
  reporter.on("sync", (result) => results.push(result));
  await reporter.initializeParallelTracking("E", ["backend"]);
  await reporter.updateAgentProgress("backend", "in_progress", 1, 2);
  await reporter.close();
  expect(results.map((result) => result.kind)).toEqual(["wrote", "none"]);
  const update = results[1]!;
  expect(update.kind === "none" && update.decision).toEqual({
    kind: "wait",
    until: storeNow + minIntervalMs,
  });
  return { line: describeSync(update), writersStarted };
}

describe("--verbose's line for a write not due yet", () => {
  it("says what the claim did, by the store's clock, with this machine's clock hours ahead or behind", async () => {
    for (const skewMs of [0, 2 * HOUR, -2 * HOUR]) {
      // Due in a second: the claim starts a background writer, and the line says so.
      const soon = await updateSeen(skewMs, 1000);
      expect(soon.writersStarted).toBe(1);
      expect(soon.line).toMatch(/^GitHub: next write due at [\d:.]+ UTC: left to the background writer$/);
      // Due in two minutes: longer than a background writer waits; none is started, and the line says so.
      const later = await updateSeen(skewMs, 120_000);
      expect(later.writersStarted).toBe(0);
      expect(later.line).toMatch(/, more than a minute away: left to the next command, retry or finalize$/);
    }
  });

  it("shows the due time on the store's clock", () => {
    const now = Date.parse("2025-10-19T16:30:00.000Z");
    const wait: StepResult = { kind: "none", decision: { kind: "wait", until: now + 1500 }, now };
    expect(describeSync(wait)).toBe(
      "GitHub: next write due at 16:30:01.500 UTC: left to the background writer",
    );
    expect(describeSync({ kind: "none", decision: null })).toBe("GitHub: no run");
    const backoff: StepResult = { kind: "none", decision: { kind: "backoff", until: now + 4000 }, now };
    expect(describeSync(backoff)).toBe(
      "GitHub: backing off after failures until 16:30:04.000 UTC (retry or finalize sends the latest)",
    );
  });
});
