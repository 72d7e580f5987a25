import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StatusView } from "../../src/model/status-view.js";
import { parseMarker } from "../../src/render/marker.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import type { ParallelProgressReporter } from "../../src/reporter.js";
import type { RetryReport } from "../../src/sync/retry-queue.js";
import { queueFiles, taskMd } from "../support/cli.js";
import type { FakeGitHub, StoredComment } from "../support/fake-github/index.js";
import { expectConvergedIssue, ourComments, withoutMarker } from "../support/issue-truth.js";
import { type InProcessRun, useInProcessGitHub } from "../support/virtual-github.js";

/**
 * Issue #4, "Hostile networks: the issue always converges to the truth", in-process (issue 10, item 6):
 * each fault against the fake GitHub on loopback, driven through reporters (one per command, as the CLI
 * makes one per process) with the real file store and Octokit client on a simulated clock, so back-offs
 * and write spacing cost nothing. Every scenario ends with exactly one progress comment (by the token's
 * user, with this run's marker) showing the run as `status` reports it, exactly one final summary, and an
 * empty queue once GitHub is healthy again. What only a process shows stays in test/cli/faults.test.ts.
 */

const TOKEN = "ghp_faulttoken0123456789abcdefghijklmnopq";
const BAD_TOKEN = "ghp_wrongtoken0123456789abcdefghijklmnopq";
const LOGIN = "octo-bot";
const REPO = "acme/widgets";
const ISSUE = 123;

const inProcess = useInProcessGitHub(TOKEN, LOGIN);

/** Our comments of one kind for this run: by the token's user, with this run's marker. */
function ours(gh: FakeGitHub, runId: string, kind: "progress" | "final", issue = ISSUE): StoredComment[] {
  return ourComments(gh, { repo: REPO, issue, login: LOGIN }, runId, kind);
}

/** `retry` until nothing remains (bounded), a second of simulated time apart, as a script would. */
async function retryUntilDone(run: InProcessRun, tries = 5): Promise<RetryReport> {
  let last = await run.reporter().retryReport();
  for (let i = 1; i < tries && last.remaining > 0; i++) {
    run.time.advance(1000);
    last = await run.reporter().retryReport();
  }
  return last;
}

/** The end state every scenario must reach once GitHub is healthy and the run finalized. */
async function expectConverged(run: InProcessRun): Promise<StatusView> {
  await run.settle();
  const reporter = run.reporter();
  const view = await reporter.status();
  const state = reporter.executionState;
  const now = run.time.clock.now();
  await expectConvergedIssue(
    run.gh,
    { repo: REPO, issue: ISSUE, login: LOGIN },
    view,
    {
      progress: withoutMarker(renderProgressComment(state, { now })),
      final: withoutMarker(renderFinalComment(state, { now })),
    },
    run.dir,
  );
  return view;
}

const QUEUED = /^GitHub: .*queued as comment_\d{8}_\d{6}_\d{6}\.json$/;

async function queueEntries(dir: string): Promise<Record<string, unknown>[]> {
  const names = await queueFiles(dir);
  return Promise.all(
    names.map(
      async (name) =>
        JSON.parse(await readFile(join(dir, ".github_parallel_queue", name), "utf8")) as Record<
          string,
          unknown
        >,
    ),
  );
}

/** The agent id of a domain (the CLI takes domains; the library takes agent ids). */
async function agentOf(reporter: ParallelProgressReporter, domain: string): Promise<string> {
  const state = (await reporter.load())!;
  return Object.values(state.agents).find((a) => a.domain === domain)!.agentId;
}

/** One command as a fresh reporter: `update <domain> --status in_progress --files done/total`. */
async function update(run: InProcessRun, domain: string, done: number, total: number, token?: string) {
  const reporter = run.reporter(token ? { token } : {});
  await reporter.updateAgentProgress(await agentOf(reporter, domain), "in_progress", done, total);
}

async function complete(run: InProcessRun, domain: string, token?: string) {
  const reporter = run.reporter(token ? { token } : {});
  await reporter.markAgentComplete(await agentOf(reporter, domain));
}

async function init(run: InProcessRun, epic: string, domains: string[], token?: string) {
  return run.reporter(token ? { token } : {}).initializeParallelTracking(epic, domains);
}

async function runIdOf(run: InProcessRun): Promise<string> {
  return (await run.reporter().status()).runId;
}

describe("hostile networks, in-process: the issue always converges to the truth", () => {
  it("30% of requests failing (5xx or dropped) during a 3-agent run: finalize + retry converge", async () => {
    const run = await inProcess({ fake: { seed: 0xfa17 } });
    const { gh } = run;
    gh.setFaults({ failureRate: 0.15, dropRate: 0.15 });

    await init(run, "EPIC-F1", ["backend", "frontend", "tests"]);
    const totals = { backend: 6, frontend: 4, tests: 3 } as const;
    for (let step = 1; step <= 3; step++) {
      for (const [domain, total] of Object.entries(totals)) {
        await update(run, domain, Math.min(total, step * 2), total);
        run.time.advance(300);
      }
    }
    await complete(run, "backend");
    const frontend = run.reporter();
    await frontend.markAgentFailed(await agentOf(frontend, "frontend"), "build broke");
    await update(run, "tests", 3, 3);
    const tests = run.reporter();
    await tests.updateAgentProgress(await agentOf(tests, "tests"), "completed", 3, 3);
    const faulty = gh.requests.filter((r) => r.outcome === "dropped" || r.status >= 500);
    expect(faulty.length, "the fault injection actually hit requests").toBeGreaterThan(0);

    await run.settle();
    gh.clearFaults();
    await run.reporter().finalizeParallelExecution("merged with one failure");
    expect((await retryUntilDone(run)).remaining).toBe(0);

    const view = await expectConverged(run);
    expect(view.agents.map((a) => [a.domain, a.status, a.filesCompleted, a.filesTotal])).toEqual([
      ["backend", "completed", 6, 6],
      ["frontend", "failed", 4, 4],
      ["tests", "completed", 3, 3],
    ]);
    // Run twice, finalize posts nothing new.
    expect((await run.reporter().finalizeParallelExecution("again")).finalizedNow).toBe(false);
    await run.settle();
    expect(ours(gh, view.runId, "final")).toHaveLength(1);
  });

  it("an API that accepts connections and never answers: bounded calls, none during back-off, converges", async () => {
    const run = await inProcess({ requestTimeoutMs: 200 });
    const { gh, dir, warnings } = run;
    gh.setFaults({ hang: true });

    const agents = await init(run, "EPIC-F2", ["a", "b"]);
    expect(agents.map((a) => a.domain)).toEqual(["a", "b"]);
    expect(warnings.some((w) => QUEUED.test(w))).toBe(true);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    const tried = gh.requests.length;
    expect(tried, "the client gave up after a bounded number of attempts").toBeLessThanOrEqual(3);

    // Right after the failure the run backs off: each call only records locally, no request of its own.
    const decisions: string[] = [];
    for (const [domain, done, total] of [
      ["a", 1, 2],
      ["b", 1, 3],
      ["a", 2, 2],
    ] as const) {
      const reporter = run.reporter();
      reporter.on("sync", (result) =>
        decisions.push(result.kind === "none" ? `${result.decision?.kind}` : result.kind),
      );
      await reporter.updateAgentProgress(await agentOf(reporter, domain), "in_progress", done, total);
    }
    expect(decisions, "no request during the back-off").toEqual(["backoff", "backoff", "backoff"]);
    await complete(run, "a");

    // Once the back-off has passed, a call tries again (still bounded by the client's budget).
    await run.settle();
    run.time.advance(10 * 60_000);
    const later = run.reporter();
    const tries: string[] = [];
    later.on("sync", (result) =>
      tries.push(result.kind === "none" ? `${result.decision?.kind}` : result.kind),
    );
    await later.updateAgentProgress(await agentOf(later, "b"), "in_progress", 2, 3);
    expect(tries).toEqual(["failed"]);
    await run.settle();
    const local = await run.reporter().status();
    expect(local.agents.map((a) => [a.domain, a.status, a.filesCompleted, a.filesTotal])).toEqual([
      ["a", "completed", 2, 2],
      ["b", "in_progress", 2, 3],
    ]);

    gh.setFaults({ hang: false });
    run.time.advance(60_000);
    expect((await retryUntilDone(run)).remaining).toBe(0);
    await complete(run, "b");
    await run.reporter().finalizeParallelExecution("merged");
    expect((await retryUntilDone(run)).remaining).toBe(0);
    await expectConverged(run);
  });

  it("the progress comment deleted by someone mid-run is recreated; still exactly one at the end", async () => {
    const run = await inProcess();
    const { gh } = run;
    await init(run, "EPIC-F3", ["a", "b"]);
    const runId = await runIdOf(run);
    await update(run, "a", 1, 2);
    await run.settle();
    const first = ours(gh, runId, "progress")[0]!;
    expect(first.body).toContain("| 1/2 |");

    expect(gh.removeComment(first.id)).toBe(true);
    expect(ours(gh, runId, "progress")).toHaveLength(0);

    await update(run, "b", 2, 3);
    await run.settle();
    const now = ours(gh, runId, "progress");
    expect(now, "the next write recreates the deleted comment").toHaveLength(1);
    expect(now[0]!.body).toContain("| 2/3 |");
    expect(now[0]!.id).not.toBe(first.id);

    await complete(run, "a");
    await complete(run, "b");
    await run.reporter().finalizeParallelExecution("done");
    await expectConverged(run);
  });

  it("duplicated progress comments converge to the oldest of the token's user; others' copies untouched", async () => {
    const run = await inProcess();
    const { gh } = run;
    await init(run, "EPIC-F4", ["a", "b"]);
    const runId = await runIdOf(run);
    await update(run, "a", 1, 2);
    await run.settle();
    const original = ours(gh, runId, "progress")[0]!;
    expect(original.body).toContain("| 1/2 |");

    const ownCopy = gh.addComment(REPO, ISSUE, original.body, LOGIN);
    const otherCopy = gh.addComment(REPO, ISSUE, original.body, "someone-else");
    expect(ours(gh, runId, "progress")).toHaveLength(2);

    await update(run, "b", 1, 3);
    await complete(run, "a");
    await complete(run, "b");
    // The background writers run before finalize, as the CLI's would have by then.
    await run.settle();
    await run.reporter().finalizeParallelExecution("done");
    await expectConverged(run);
    expect(
      ours(gh, runId, "progress").map((c) => c.id),
      "the oldest copy stays",
    ).toEqual([original.id]);
    expect(gh.comments(REPO, ISSUE).some((c) => c.id === ownCopy.id)).toBe(false);
    const other = gh.comments(REPO, ISSUE).find((c) => c.id === otherCopy.id);
    expect(other, "another user's copy is never touched").toBeDefined();
    expect(other!.body).toBe(original.body);
    expect(other!.author).toBe("someone-else");
    expect(other!.updatedAt).toBe(otherCopy.updatedAt);
  });

  it("a create whose response is lost never produces a duplicate (progress at init, final at finalize)", async () => {
    const run = await inProcess();
    const { gh } = run;
    let runId: string | null = null;
    let maxProgress = 0;
    let maxFinal = 0;
    // Look at the issue after every request the fake answers: "no duplicate, ever", not just at the end.
    const look = () => {
      const mine = gh.comments(REPO, ISSUE).filter((c) => c.author === LOGIN);
      const count = (kind: "progress" | "final") =>
        mine.filter((c) => {
          const marker = parseMarker(c.body);
          return marker?.kind === kind && (runId === null || marker.runId === runId);
        }).length;
      maxProgress = Math.max(maxProgress, count("progress"));
      maxFinal = Math.max(maxFinal, count("final"));
    };
    const watched = (reporter: ParallelProgressReporter) => {
      reporter.on("sync", look);
      reporter.on("change", look);
      return reporter;
    };

    gh.setFaults({ loseCreateResponses: 1 });
    await watched(run.reporter()).initializeParallelTracking("EPIC-F5", ["a", "b"]);
    runId = await runIdOf(run);
    expect(gh.requests.filter((r) => r.outcome === "lost")).toHaveLength(1);

    await update(run, "a", 1, 2);
    await update(run, "b", 2, 5);
    await complete(run, "a");
    await complete(run, "b");
    await run.settle();
    look();
    gh.setFaults({ loseCreateResponses: 1 });
    await watched(run.reporter()).finalizeParallelExecution("done");
    look();
    expect((await retryUntilDone(run)).remaining).toBe(0);
    look();
    await expectConverged(run);
    look();
    expect(gh.requests.filter((r) => r.outcome === "lost")).toHaveLength(2);
    expect(maxProgress, "never two progress comments").toBe(1);
    expect(maxFinal, "never two final summaries").toBe(1);
  });

  it("401 bad credentials: explained, queued, the run backs off; delivered by retry with a good token", async () => {
    const run = await inProcess();
    const { gh, dir, warnings } = run;

    await init(run, "EPIC-F6", ["a", "b"], BAD_TOKEN);
    expect(warnings.some((w) => QUEUED.test(w))).toBe(true);
    expect(warnings.join("\n")).toMatch(/GITHUB_TOKEN|GH_TOKEN/);
    expect(warnings.join("\n")).not.toContain(BAD_TOKEN);
    const tried = gh.requests.length;
    await update(run, "a", 2, 2, BAD_TOKEN);
    await complete(run, "a", BAD_TOKEN);
    const failer = run.reporter({ token: BAD_TOKEN });
    await failer.markAgentFailed(await agentOf(failer, "b"), "no disk");
    expect(gh.requests.length, "after a 401 the run backs off: later calls are local").toBe(tried);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);

    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    const runId = await runIdOf(run);
    expect(ours(gh, runId, "progress")).toHaveLength(1);
    expect(ours(gh, runId, "progress")[0]!.body).toContain("❌ Failed");
    const unauthorised = gh.requests.filter((r) => r.status === 401);

    // With the token fixed, the next change reaches the issue on its own, like any other.
    const fixed = run.reporter();
    await fixed.updateAgentProgress(await agentOf(fixed, "b"), "failed", 1, 5);
    await run.settle();
    expect(ours(gh, runId, "progress")[0]!.body).toContain("| 1/5 |");

    const result = await run.reporter().finalizeParallelExecution("partly merged");
    expect(result.queued, "finalize with a good token and a healthy GitHub").toBe(0);
    await expectConverged(run);
    expect(
      gh.requests.filter((r) => r.status === 401),
      "no 401 after the good token took over",
    ).toEqual(unauthorised);
  });

  it("403 on a locked issue: says 'locked', queued; unlock + retry delivers", async () => {
    const run = await inProcess();
    const { gh, dir, warnings } = run;
    gh.lockIssue(REPO, ISSUE, true);
    await init(run, "EPIC-F7", ["a"]);
    expect(warnings.some((w) => QUEUED.test(w))).toBe(true);
    expect(warnings.join("\n")).toMatch(/locked/i);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    await update(run, "a", 1, 4);
    run.time.advance(60_000);
    const stillLocked = await run.reporter().retryReport();
    expect(stillLocked.remaining).toBeGreaterThan(0);

    gh.lockIssue(REPO, ISSUE, false);
    expect((await retryUntilDone(run)).remaining).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    await complete(run, "a");
    await run.reporter().finalizeParallelExecution("ok");
    await expectConverged(run);
  });

  it("404 on a missing issue: says not found, queued for that issue", async () => {
    const run = await inProcess({ task: taskMd(999) });
    const { gh, dir, warnings } = run;
    await init(run, "EPIC-F7b", ["a"]);
    expect(warnings.some((w) => QUEUED.test(w))).toBe(true);
    expect(warnings.join("\n")).toMatch(/not found/i);
    expect(warnings.join("\n")).toMatch(/999/);
    await update(run, "a", 1, 4);
    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();
    const entries = await queueEntries(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry.issue_number).toBe(999);
      expect(typeof entry.comment).toBe("string");
      expect(Number.isNaN(Date.parse(String(entry.timestamp)))).toBe(false);
    }
    run.time.advance(60_000);
    expect((await run.reporter().retryReport()).remaining).toBeGreaterThan(0);
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);
    expect((await run.reporter().status()).agents[0]!.filesCompleted).toBe(1);
  });

  it("404 on a missing repository (repo acme/nope): says not found, queued for it", async () => {
    const run = await inProcess();
    const { gh, dir, warnings } = run;
    const github = { repo: "acme/nope" };
    await run.reporter({ github }).initializeParallelTracking("EPIC-F7c", ["a"]);
    expect(warnings.some((w) => QUEUED.test(w))).toBe(true);
    expect(warnings.join("\n")).toMatch(/not found/i);
    expect(warnings.join("\n")).toMatch(/acme\/nope/);
    const reporter = run.reporter({ github });
    await reporter.markAgentComplete(await agentOf(reporter, "a"));
    await run.settle();
    const entries = await queueEntries(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry.repo).toBe("acme/nope");
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);
  });
});
