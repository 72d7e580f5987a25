import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { createParallelReporter, type ParallelProgressReporter } from "../../src/reporter.js";

/**
 * A change made before the run ended but applied only after it (kept on a machine while the database did
 * not answer): applyingKeptChange lets a finalized run take it, once, and only when it came before the end.
 */

const START = Date.parse("2025-10-19T16:30:00Z");

function reporter(): { r: ParallelProgressReporter; tick: (ms: number) => number } {
  const fs = createFsFromVolume(new Volume());
  fs.mkdirSync("/epic", { recursive: true });
  let now = START;
  const r = createParallelReporter("/epic", { fs, env: {}, clock: { now: () => now } });
  return { r, tick: (ms) => (now += ms) };
}

async function finalizedRun() {
  const { r, tick } = reporter();
  const [api, web] = await r.initializeParallelTracking("E", ["api", "web"]);
  tick(60_000);
  await r.markAgentComplete(api!.agentId);
  const before = tick(1_000);
  tick(1_000);
  await r.finalizeParallelExecution("merged");
  const end = r.executionState.completedAt!;
  tick(60_000);
  return { r, web: web!.agentId, before, end };
}

describe("a kept change applied after the run ended", () => {
  it("is taken by the finalized run when it was made before the end, at the time it was made; the run stays ended", async () => {
    const { r, web, before, end } = await finalizedRun();
    const last = r.executionState.event;
    r.applyingKeptChange(before);
    await r.markAgentFailed(web, "boom");
    const state = r.executionState;
    expect(state.completedAt).toBe(end);
    expect(state.event).toBe(last);
    expect(state.agents[web]).toMatchObject({
      status: "failed",
      error: "boom",
      finishedAt: new Date(before).toISOString(),
    });
  });

  it("marks the next call only, also when that call is refused by its own checks", async () => {
    const { r, web, before } = await finalizedRun();
    r.applyingKeptChange(before);
    await expect(r.markAgentFailed(web, "   ")).rejects.toThrow(UsageError);
    await expect(r.logAgentEvent(web, "unrelated")).rejects.toThrow(/was finalized at/);
  });

  it("a kept finalize records when it was made: a kept change made after that is refused", async () => {
    const { r, tick } = reporter();
    const [, web] = await r.initializeParallelTracking("E", ["api", "web"]);
    const early = tick(1_000);
    const made = tick(1_000);
    const late = tick(1_000);
    tick(60_000); // the finalize reaches the store a minute after it was made
    r.applyingKeptChange(made);
    await r.finalizeParallelExecution("merged");
    expect(r.executionState.finalizeMadeAt).toBe(new Date(made).toISOString());
    r.applyingKeptChange(late);
    await expect(r.logAgentEvent(web!.agentId, "after the finalize")).rejects.toThrow(/was finalized at/);
    r.applyingKeptChange(early);
    await r.logAgentEvent(web!.agentId, "before the finalize");
  });

  it("is refused when it was made after the end, as any change of a finalized run is", async () => {
    const { r, web, end } = await finalizedRun();
    r.applyingKeptChange(Date.parse(end) + 1);
    await expect(r.markAgentFailed(web, "boom")).rejects.toThrow(UsageError);
    await expect(r.markAgentFailed(web, "boom")).rejects.toThrow(/was finalized at/);
  });

  it("holds for the next agent change only, and null clears it", async () => {
    const { r, web, before } = await finalizedRun();
    r.applyingKeptChange(before);
    await r.logAgentEvent(web, "late but on time");
    await expect(r.logAgentEvent(web, "after the end")).rejects.toThrow(/was finalized at/);
    r.applyingKeptChange(before);
    r.applyingKeptChange(null);
    await expect(r.logAgentEvent(web, "cleared")).rejects.toThrow(/was finalized at/);
  });

  it("takes epoch milliseconds or null, and says so otherwise", () => {
    const { r } = reporter();
    expect(() => r.applyingKeptChange("yesterday" as unknown as number)).toThrow(
      'applyingKeptChange: madeAt must be epoch milliseconds or null, got "yesterday"',
    );
    // Finite, but no time a Date holds: the next call's ISO times would throw a RangeError.
    expect(() => r.applyingKeptChange(-1e300)).toThrow(
      "applyingKeptChange: madeAt must be epoch milliseconds",
    );
  });
});
