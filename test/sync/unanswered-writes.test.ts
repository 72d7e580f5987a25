import { describe, expect, it } from "vitest";
import type { ParallelProgressReporter } from "../../src/reporter.js";
import { UNANSWERED_WINDOW_MS } from "../../src/sync/timings.js";
import { queueFiles } from "../support/cli.js";
import { type InProcessRun, useInProcessGitHub } from "../support/virtual-github.js";

/**
 * A write GitHub did not answer in time (the client gave up on it) may still be applied later: the fake
 * GitHub's `late` fault holds it and applies it when the test says, after the client gave up, as GitHub
 * finishes a request it received. Reporters on a simulated clock, the real file store and Octokit client
 * against the fake on loopback; the client gives up on a request after 200 ms of real time.
 */

const inProcess = useInProcessGitHub();

async function agentOf(reporter: ParallelProgressReporter, domain: string): Promise<string> {
  return (await reporter.status()).agents.find((agent) => agent.domain === domain)!.agentId;
}

async function update(run: InProcessRun, domain: string, done: number, total: number): Promise<void> {
  const reporter = run.reporter();
  await reporter.updateAgentProgress(await agentOf(reporter, domain), "in_progress", done, total);
}

async function complete(run: InProcessRun, domain: string): Promise<void> {
  const reporter = run.reporter();
  await reporter.markAgentComplete(await agentOf(reporter, domain), "done");
}

describe("a write GitHub did not answer in time", () => {
  it("an edit applied after the client gave up does not win: the latest state is written again after it", async () => {
    const run = await inProcess({ requestTimeoutMs: 200 });
    const { gh, time } = run;
    await run.reporter().initializeParallelTracking("E11", ["a", "b"], run.dir);
    time.advance(1100);
    await update(run, "b", 1, 2);
    time.advance(2500);
    gh.setFaults({ late: { method: "PATCH" } });
    await update(run, "a", 1, 3); // held by GitHub, given up on by the client
    expect(run.warnings.at(-1)).toMatch(/the comment may have been updated.*queued as comment_/);
    const stale = run.seqs()[0]!;
    gh.setFaults({ late: null });
    time.advance(2500);
    await complete(run, "a");
    await complete(run, "b");
    await run.reporter().finalizeParallelExecution("s");
    const latest = (await run.reporter().status()).sync.seq;
    expect(run.seqs()).toEqual([latest]);
    expect(run.seqs("final")).toHaveLength(1);

    // The edit GitHub held lands now, over the final state: the issue shows the stale table.
    await gh.applyLate();
    expect(run.seqs()[0]).toBeLessThanOrEqual(stale + 1);
    const settling = await run.reporter().status();
    expect(settling.sync.settleUntil).not.toBeNull();

    // The background writer finalize left behind writes the latest state once the edit can no longer land.
    expect(run.held()).toBeGreaterThan(0);
    await run.settle();
    expect(run.seqs()).toEqual([latest]);
    expect(run.seqs("final")).toHaveLength(1);
    const after = await run.reporter().status();
    expect(after.sync.settleUntil).toBeNull();
    expect(after.sync.postedSeq).toBe(latest);
    expect(await queueFiles(run.dir)).toEqual([]);
  });

  it("a final summary whose post timed out is not posted again while it may still appear", async () => {
    const run = await inProcess({ requestTimeoutMs: 200 });
    const { gh, time } = run;
    await run.reporter().initializeParallelTracking("E12", ["a", "b"], run.dir);
    await complete(run, "a");
    await complete(run, "b");
    time.advance(2500);
    gh.setFaults({ late: { method: "POST" } });
    const finalize = await run.reporter().finalizeParallelExecution("x");
    expect(finalize.posted).toBe(false);
    expect(run.warnings.at(-1)).toMatch(/may have been created, so it was not sent again/);
    gh.setFaults({ late: null });

    // A retry right away looks it up, does not find it, and leaves it queued, saying until when.
    const retry = await run.reporter().retryReport();
    expect(retry.remaining).toBe(1);
    expect(run.warnings.at(-1)).toMatch(/may still appear until \d\d:\d\d:\d\d UTC/);
    expect(run.seqs("final")).toEqual([]);

    // GitHub applies the held post: one final summary, found by the next write, never posted twice.
    await gh.applyLate();
    expect(run.seqs("final")).toHaveLength(1);
    await run.settle();
    time.advance(UNANSWERED_WINDOW_MS);
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(run.seqs("final")).toHaveLength(1);
    expect(run.seqs()).toHaveLength(1);
    expect(await queueFiles(run.dir)).toEqual([]);
  });

  it("an earlier run's final summary whose retry timed out is not posted again by the next retry", async () => {
    const run = await inProcess({ requestTimeoutMs: 200 });
    const { gh, time } = run;
    await run.reporter().initializeParallelTracking("OLD", ["a"], run.dir);
    await complete(run, "a");
    await run.settle();
    time.advance(2500);
    gh.setFaults({ down: true });
    await run.reporter().finalizeParallelExecution("merged");
    gh.clearFaults();
    await run.reporter().initializeParallelTracking("NEW", ["b"], run.dir, { force: true });
    await run.settle();
    time.advance(2500);
    gh.setFaults({ late: { method: "POST" } });
    const first = await run.reporter().retryReport();
    expect(first.remaining).toBe(1);
    expect(first.errors.join("\n")).toMatch(/may have been created, so it was not sent again/);
    gh.setFaults({ late: null });

    // The entry now says its post may still appear: the next retry looks, and does not post it again.
    time.advance(1100);
    const second = await run.reporter().retryReport();
    expect(second.remaining).toBe(1);
    expect(second.errors.join("\n")).toMatch(/may still appear until \d\d:\d\d:\d\d UTC/);
    await gh.applyLate();
    expect(run.seqs("final")).toHaveLength(1);
    time.advance(UNANSWERED_WINDOW_MS);
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(run.seqs("final")).toHaveLength(1);
  });

  it("a final summary whose post never reached GitHub is posted once its window is over", async () => {
    const run = await inProcess({ requestTimeoutMs: 200 });
    const { gh, time } = run;
    await run.reporter().initializeParallelTracking("E13", ["a"], run.dir);
    await complete(run, "a");
    time.advance(2500);
    gh.setFaults({ late: { method: "POST" } });
    await run.reporter().finalizeParallelExecution("x");
    gh.setFaults({ late: null });
    await gh.dropLate(); // it never reached GitHub

    expect((await run.reporter().retryReport()).remaining).toBe(1);
    expect(run.seqs("final")).toEqual([]);
    // The background writer looks once more after the window and posts it.
    expect(run.held()).toBeGreaterThan(0);
    await run.settle();
    expect(run.seqs("final")).toHaveLength(1);
    expect(await queueFiles(run.dir)).toEqual([]);
    expect((await run.reporter().status()).sync.finalPosted).toBe(true);
  });

  it("the progress comment's first post timing out: no second one while it may still appear", async () => {
    const run = await inProcess({ requestTimeoutMs: 200 });
    const { gh, time } = run;
    gh.setFaults({ late: { method: "POST" } });
    await run.reporter().initializeParallelTracking("E14", ["a"], run.dir);
    gh.setFaults({ late: null });
    time.advance(2500);
    expect((await run.reporter().retryReport()).remaining).toBe(1);
    expect(run.seqs()).toEqual([]);
    await gh.applyLate();
    await update(run, "a", 1, 2);
    await run.settle();
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(run.seqs()).toHaveLength(1);
    expect(run.seqs()[0]).toBe((await run.reporter().status()).sync.seq);
  });
});
