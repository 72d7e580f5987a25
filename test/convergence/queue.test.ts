import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { queueFiles, taskMd } from "../support/cli.js";
import { type InProcessRun, useInProcessGitHub } from "../support/virtual-github.js";

/**
 * The offline queue keeps the truth, in-process on a simulated clock (moved from test/cli/github.test.ts,
 * issue 10 item 6): `retryReport().remaining > 0` is what makes `parallel-progress retry` exit 3.
 */

const inProcess = useInProcessGitHub("ghp_queuetoken0123456789abcdefghijklmnopq");

/** With GitHub down, run OLD is made, then NEW in its place: each run's first post is queued. */
async function twoRunsQueued(run: InProcessRun): Promise<void> {
  run.gh.setFaults({ down: true });
  await run.reporter().initializeParallelTracking("OLD", ["a"]);
  await run.settle();
  await run.reporter().initializeParallelTracking("NEW", ["b"], run.dir, { force: true });
  await run.settle();
}

describe("the offline queue keeps the truth", () => {
  it("a finalize GitHub never saw: the final summary is queued once, survives a new init, and is posted once", async () => {
    const run = await inProcess();
    const { gh, dir } = run;
    const finals = () =>
      gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    gh.setFaults({ dropRate: 1 });
    await run.reporter().initializeParallelTracking("OLD", ["a"]);
    const completer = run.reporter();
    await completer.markAgentComplete(Object.keys((await completer.load())!.agents)[0]!);
    await run.reporter().finalizeParallelExecution("merged while offline");
    await run.settle();
    const kinds = async () =>
      Promise.all(
        (await queueFiles(dir)).map(
          async (name) =>
            JSON.parse(await readFile(join(dir, ".github_parallel_queue", name), "utf8")).kind as string,
        ),
      );
    expect(await kinds()).toContain("final");
    const count = (await queueFiles(dir)).length;
    for (let i = 0; i < 2; i++) {
      run.time.advance(60_000);
      expect((await run.reporter().retryReport()).remaining).toBeGreaterThan(0);
    }
    expect((await queueFiles(dir)).length, "GitHub still down: no new file per attempt").toBe(count);

    await run.reporter().initializeParallelTracking("NEW", ["b"]); // the old run is gone
    await run.settle();
    gh.setFaults({ dropRate: 0 });
    run.time.advance(60_000);
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(finals()).toHaveLength(1);
    expect(finals()[0]!.body).toContain("merged while offline");
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(finals()).toHaveLength(1);
  });
});

describe("an entry GitHub refuses for good holds back only its own run", () => {
  it("an earlier run's final summary for a deleted issue (404) stays queued; the current run is still finalized", async () => {
    const run = await inProcess();
    const { gh, dir } = run;
    const folder = join(dir, ".github_parallel_queue");
    await mkdir(folder, { recursive: true });
    const old = (seq: number, kind: "progress" | "final") => ({
      issue_number: 999, // no such issue
      comment: `old ${kind}\n\n<!-- parallel-progress:${kind} run=OLD-1${kind === "progress" ? ` seq=${seq}` : ""} -->`,
      timestamp: "2025-10-19T16:30:00.000Z",
      repo: "acme/widgets",
      api_url: gh.url,
      kind,
      run_id: "OLD-1",
      seq,
    });
    await writeFile(join(folder, "comment_20251019_163000_000001.json"), JSON.stringify(old(4, "final")));
    const reporter = run.reporter();
    const [agent] = await reporter.initializeParallelTracking("NEW", ["a"]);
    gh.setFaults({ down: true });
    await run.reporter().markAgentComplete(agent!.agentId);
    await run.settle();
    gh.clearFaults();
    run.time.advance(60_000);
    const result = await run.reporter().finalizeParallelExecution("merged");
    expect(result.posted).toBe(true);
    expect(result.queued).toBe(1);
    expect(run.seqs("final")).toHaveLength(1);
    expect(run.warnings.join("\n")).toContain(
      "GitHub: comment_20251019_163000_000001.json stays queued: listing the comments of acme/widgets#999 failed",
    );
    const report = await run.reporter().retryReport();
    expect(report.remaining).toBe(1);
    expect(report.errors).toHaveLength(1);
    expect(await queueFiles(dir)).toEqual(["comment_20251019_163000_000001.json"]);
  });
});

describe("why posts stay queued when no write failed", () => {
  it("a run whose next write is not due yet (a long --min-interval): finalize and every retry say when it is", async () => {
    const run = await inProcess({ task: taskMd(123, "  min_interval_ms: 600000\n") });
    const [agent] = await run.reporter().initializeParallelTracking("E", ["a"]);
    await run.reporter().markAgentComplete(agent!.agentId);
    const result = await run.reporter().finalizeParallelExecution("merged");
    expect(result.posted).toBe(false);
    const due =
      "the run's next write is due at 2026-01-05T09:10:00.000Z (writes of a run are at least 600000 ms apart";
    expect(run.warnings.join("\n")).toContain(`GitHub: ${due}`);
    for (let i = 0; i < 2; i++) {
      const report = await run.reporter().retryReport();
      expect(report.remaining).toBeGreaterThan(0);
      expect(report.errors.join("\n")).toContain(due);
    }
    // The progress comment's final state, then the final summary: two writes, 10 minutes apart.
    for (let i = 0; i < 2; i++) {
      run.time.advance(600_000);
      await run.reporter().retryReport();
    }
    expect(await queueFiles(run.dir)).toEqual([]);
    expect(run.seqs("final")).toHaveLength(1);
  });
});

describe("sync turned off in task.md", () => {
  it("retry and finalize send nothing, an earlier run's queued posts included; they stay queued until it is on again", async () => {
    const run = await inProcess();
    const { gh, dir } = run;
    await twoRunsQueued(run);
    const queued = await queueFiles(dir);
    expect(queued).toHaveLength(2);
    gh.clearFaults();
    await writeFile(join(dir, "task.md"), taskMd(123, "  sync_enabled: false\n"));
    const requests = gh.requests.length;
    run.time.advance(60_000);
    const report = await run.reporter().retryReport();
    expect(report.remaining).toBe(2);
    expect(report.errors).toEqual([
      "sync is off (github.sync_enabled: false): nothing sent, 2 post(s) stay queued",
    ]);
    await run.reporter().finalizeParallelExecution("merged");
    expect(gh.requests.length, "no GitHub traffic").toBe(requests);
    expect(await queueFiles(dir)).toEqual(queued);

    await writeFile(join(dir, "task.md"), taskMd(123));
    expect((await run.reporter().retryReport()).remaining).toBe(0);
  });
});

describe("a retry that sends other runs' posts and the current run's", () => {
  it("keeps every write 1 s from the one before: the queue's writes and the run's share when the last ended", async () => {
    const run = await inProcess({ fake: { minWriteIntervalMs: 1000 } });
    const { gh, dir } = run;
    await twoRunsQueued(run);
    // Two other runs' comments, queued before and after the current run's post. (The abandoned OLD run's
    // queued mark is dropped unsent: the issue never showed that run.)
    const otherRun = async (runId: string, timestamp: string, name: string) => {
      const item = {
        issue_number: 123,
        comment: `${runId}\n\n<!-- parallel-progress:progress run=${runId} seq=2 -->`,
        timestamp,
        repo: "acme/widgets",
        api_url: gh.url,
        kind: "progress",
        comment_mode: "edit",
        run_id: runId,
        seq: 2,
        reason: "GitHub was down",
        outcome_unknown: false,
        unsure_until: null,
      };
      await writeFile(join(dir, ".github_parallel_queue", name), JSON.stringify(item));
    };
    await otherRun("EARLIER-1", "2026-01-01T09:00:00.000Z", "comment_20260101_090000_000001.json");
    await otherRun("LATER-1", "2026-01-05T09:00:30.000Z", "comment_20260105_090030_000001.json");
    expect(await queueFiles(dir)).toHaveLength(4);
    gh.clearFaults();
    run.time.advance(60_000);
    // An earlier run's comment from the queue, the current run's from its state, then the third run's:
    // three posts on one issue, by three Pacers (the retry's, the run's, the retry's again).
    const report = await run.reporter().retryReport();
    expect(report).toMatchObject({ remaining: 0, errors: [] });
    expect(gh.comments("acme/widgets", 123)).toHaveLength(3);
    expect(gh.rateLimitResponses).toBe(0);
    const gaps = gh.writes.slice(1).map((at, i) => at - gh.writes[i]!);
    expect(gaps).toHaveLength(2);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
  });
});

describe("a queue file set aside by another process", () => {
  it("is said by every later retry and finalize until deleted, not only by the process that moved it", async () => {
    const run = await inProcess();
    await run.reporter().initializeParallelTracking("E", ["a"]);
    const queue = join(run.dir, ".github_parallel_queue");
    await mkdir(queue, { recursive: true });
    await writeFile(
      join(queue, "comment_20200101_000000_000000.json"),
      '{"issue_number": 123, "comment": "hand',
    );
    await run.reporter().retryReport(); // as the background writer would: its warning goes nowhere
    expect(run.warnings.filter((w) => w.includes("set aside earlier"))).toEqual([]);
    run.warnings.length = 0;
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    await run.reporter().finalizeParallelExecution("merged");
    const said = `1 unreadable queue file(s) set aside earlier (${join(queue, "comment_20200101_000000_000000.json.corrupt")}): not sent; read them, then delete them`;
    expect(run.warnings.filter((w) => w === said)).toHaveLength(2);
  });
});
