import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StatusView } from "../../src/model/status-view.js";
import { parseMarker } from "../../src/render/marker.js";
import {
  type CliResult,
  flusherPids,
  queueFiles,
  runCli,
  spawnCli,
  taskMd,
  waitFor,
} from "../support/cli.js";
import type { FakeGitHub, FakeGitHubOptions, StoredComment } from "../support/fake-github/index.js";
import { useFakeGitHub } from "../support/harness.js";

/**
 * Issue #4, "Hostile networks: the issue always converges to the truth": each fault against the fake
 * GitHub, driven through the built CLI as separate processes. Every scenario ends with exactly one
 * progress comment (by the token's user, with this run's marker) showing the run as `status` reports it,
 * exactly one final summary, and an empty queue once GitHub is healthy again.
 */

const TOKEN = "ghp_faulttoken0123456789abcdefghijklmnopq";
const BAD_TOKEN = "ghp_wrongtoken0123456789abcdefghijklmnopq";
const LOGIN = "octo-bot";
const REPO = "acme/widgets";
const ISSUE = 123;
/** A command may take the client's whole budget (~8–10 s) plus process start-up. */
const COMMAND_BUDGET_MS = 12_500;

type Env = Record<string, string>;
type Cli = (...args: string[]) => Promise<CliResult>;

// A fake GitHub and an epic per test, torn down after each (background writers first).
const fakeGitHub = useFakeGitHub(TOKEN, LOGIN);

async function setup(options: FakeGitHubOptions = {}, task = taskMd(ISSUE), extraArgs: string[] = []) {
  const { gh, dir, env } = await fakeGitHub({ fake: options, task });
  const as =
    (withEnv: Env): Cli =>
    (...args) =>
      runCli([...args, "--dir", dir, ...extraArgs], { env: withEnv, timeoutMs: 40_000 });
  return { gh, dir, env, cli: as(env), as };
}

async function statusJson(cli: Cli): Promise<StatusView> {
  const result = await cli("status", "--json");
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusView;
}

/** Our comments of one kind for this run: by the token's user, with this run's marker. */
function ours(gh: FakeGitHub, runId: string, kind: "progress" | "final", issue = ISSUE): StoredComment[] {
  return gh.comments(REPO, issue).filter((comment) => {
    const marker = parseMarker(comment.body);
    return comment.author === LOGIN && marker?.kind === kind && marker.runId === runId;
  });
}

function withoutMarker(body: string): string {
  return body.replace(/\n*<!-- parallel-progress:[^\n]*-->[ \t]*\s*$/, "").trimEnd();
}

/** The progress part of a `status --markdown` body (before the final summary), without the marker. */
function progressPart(markdown: string): string {
  const body = withoutMarker(markdown);
  const at = body.indexOf("\n\n## 🎉 Final Summary");
  return (at >= 0 ? body.slice(0, at) : body).trimEnd();
}

const LABELS: Record<string, string> = {
  pending: "⏳ Pending",
  in_progress: "🔄 In Progress",
  completed: "✅ Completed",
  failed: "❌ Failed",
  cancelled: "⏹️ Cancelled",
};

/** Each row and the Overall line of the run as `status --json` reports it. */
function expectRowsOf(body: string, view: StatusView): void {
  for (const agent of view.agents) {
    const row = `| ${agent.domain} | ${agent.agentId} | ${LABELS[agent.status]} | ${agent.filesCompleted}/${agent.filesTotal} | ${agent.progress}% |`;
    expect(body, `row of ${agent.domain}`).toContain(row);
  }
  const { overall } = view;
  expect(body).toContain(
    `**Overall:** ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files)`,
  );
}

/** Runs `retry` until it exits 0 (bounded), returning the last result. */
async function retryUntilDone(cli: Cli, tries = 5): Promise<CliResult> {
  let last = await cli("retry");
  for (let i = 1; i < tries && last.code !== 0; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    last = await cli("retry");
  }
  return last;
}

/** Waits (bounded) until no background writer of this epic is running, so the issue is settled. */
async function settle(dir: string, timeoutMs = 15_000): Promise<void> {
  expect(await waitFor(async () => (await flusherPids(dir)).length === 0, timeoutMs, 100)).toBe(true);
}

/** The end state every scenario must reach once GitHub is healthy and the run finalized. */
async function expectConverged(gh: FakeGitHub, cli: Cli, dir: string): Promise<StatusView> {
  await settle(dir);
  const view = await statusJson(cli);
  const markdown = (await cli("status", "--markdown")).stdout;
  expect(view.completedAt).not.toBeNull();

  const progress = ours(gh, view.runId, "progress");
  expect(
    progress.map((c) => c.id),
    "exactly one progress comment of this run by the token's user",
  ).toHaveLength(1);
  const body = progress[0]!.body;
  expect(withoutMarker(body)).toBe(progressPart(markdown));
  expectRowsOf(body, view);
  expect(body).toContain("**Parallel execution completed**");
  expect(parseMarker(body)?.seq).toBe(view.sync.seq);

  const final = ours(gh, view.runId, "final");
  expect(
    final.map((c) => c.id),
    "exactly one final summary",
  ).toHaveLength(1);
  expect(withoutMarker(final[0]!.body)).toBe(withoutMarker(markdown));
  expectRowsOf(final[0]!.body, view);

  expect(view.sync.postedSeq).toBe(view.sync.seq);
  expect(view.sync.finalPosted).toBe(true);
  expect(await queueFiles(dir), "the queue is empty once GitHub is healthy").toEqual([]);
  return view;
}

function expectQueuedWarning(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toMatch(
    /parallel-progress: warning: GitHub: .*queued as comment_\d{8}_\d{6}_\d{6}\.json/,
  );
}

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

describe("hostile networks: the issue always converges to the truth", () => {
  it("30% of requests failing (5xx or dropped) during a 3-agent run: finalize + retry converge", async () => {
    const { gh, cli, dir } = await setup({ seed: 0xfa17 });
    gh.setFaults({ failureRate: 0.15, dropRate: 0.15 });

    const init = await cli("init", "--epic", "EPIC-F1", "--domains", "backend,frontend,tests");
    expect(init.code, init.stderr).toBe(0);
    const totals = { backend: 6, frontend: 4, tests: 3 } as const;
    for (let step = 1; step <= 3; step++) {
      for (const [domain, total] of Object.entries(totals)) {
        const done = Math.min(total, step * 2);
        // Each update writes at once (no 1 s spacing), so the faults meet requests however fast calls are.
        const result = await cli(
          "update",
          domain,
          "--status",
          "in_progress",
          "--files",
          `${done}/${total}`,
          "--min-interval",
          "0",
        );
        expect(result.code, result.stderr).toBe(0);
        expect(result.ms).toBeLessThan(COMMAND_BUDGET_MS);
      }
    }
    for (const args of [
      ["complete", "backend", "--summary", "api done"],
      ["fail", "frontend", "--error", "build broke"],
      ["update", "tests", "--status", "completed", "--files", "3/3"],
    ]) {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.ms).toBeLessThan(COMMAND_BUDGET_MS);
    }
    const faulty = gh.requests.filter((r) => r.outcome === "dropped" || r.status >= 500);
    expect(faulty.length, "the fault injection actually hit requests").toBeGreaterThan(0);

    gh.clearFaults();
    const finalize = await cli("finalize", "--summary", "merged with one failure");
    expect(finalize.code, finalize.stderr).toBe(0);
    const retry = await retryUntilDone(cli);
    expect(retry.code, retry.stderr).toBe(0);

    const view = await expectConverged(gh, cli, dir);
    expect(view.agents.map((a) => [a.domain, a.status, a.filesCompleted, a.filesTotal])).toEqual([
      ["backend", "completed", 6, 6],
      ["frontend", "failed", 4, 4],
      ["tests", "completed", 3, 3],
    ]);
    // Run twice, finalize posts nothing new.
    expect((await cli("finalize", "--summary", "again")).code).toBe(0);
    await settle(dir);
    expect(ours(gh, view.runId, "final")).toHaveLength(1);
  }, 60_000);

  it("an API that accepts connections and never answers: bounded calls, fast during back-off, converges", async () => {
    const { gh, cli, dir } = await setup();
    gh.setFaults({ hang: true });

    const init = await cli("init", "--epic", "EPIC-F2", "--domains", "a,b");
    expectQueuedWarning(init);
    expect(init.ms).toBeLessThan(COMMAND_BUDGET_MS);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    expect(init.stdout).toMatch(/^a\timpl-a-\d{6}\nb\timpl-b-\d{6}\n?$/);

    // Right after the failure the run backs off: calls only record locally, and return at once.
    for (const args of [
      ["update", "a", "--status", "in_progress", "--files", "1/2"],
      ["update", "b", "--status", "in_progress", "--files", "1/3"],
      ["complete", "a"],
    ]) {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.ms, `${args.join(" ")} during back-off`).toBeLessThan(2000);
    }
    // Once the back-off has passed, a call may try again: still bounded by the client's budget.
    await new Promise((r) => setTimeout(r, 2500));
    const later = await cli("update", "b", "--status", "in_progress", "--files", "2/3");
    expect(later.code, later.stderr).toBe(0);
    expect(later.ms).toBeLessThan(COMMAND_BUDGET_MS);
    const local = await statusJson(cli);
    expect(local.agents.map((a) => [a.domain, a.status, a.filesCompleted, a.filesTotal])).toEqual([
      ["a", "completed", 2, 2],
      ["b", "in_progress", 2, 3],
    ]);

    gh.setFaults({ hang: false });
    const retry = await retryUntilDone(cli);
    expect(retry.code, retry.stderr).toBe(0);
    expect((await cli("complete", "b")).code).toBe(0);
    const finalize = await cli("finalize", "--summary", "merged");
    expect(finalize.code, finalize.stderr).toBe(0);
    expect((await retryUntilDone(cli)).code).toBe(0);
    await expectConverged(gh, cli, dir);
  }, 60_000);

  it("the progress comment deleted by someone mid-run is recreated; still exactly one at the end", async () => {
    const { gh, cli, dir } = await setup();
    expect((await cli("init", "--epic", "EPIC-F3", "--domains", "a,b")).code).toBe(0);
    const { runId } = await statusJson(cli);
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/2")).code).toBe(0);
    expect(
      await waitFor(async () => ours(gh, runId, "progress")[0]?.body.includes("| 1/2 |") ?? false, 10_000),
    ).toBe(true);
    const first = ours(gh, runId, "progress")[0]!;

    expect(gh.removeComment(first.id)).toBe(true);
    expect(ours(gh, runId, "progress")).toHaveLength(0);

    const update = await cli("update", "b", "--status", "in_progress", "--files", "2/3");
    expect(update.code, update.stderr).toBe(0);
    const recreated = await waitFor(async () => {
      const now = ours(gh, runId, "progress");
      return now.length === 1 && now[0]!.body.includes("| 2/3 |");
    }, 10_000);
    expect(recreated, "the next write recreates the deleted comment").toBe(true);
    expect(ours(gh, runId, "progress")[0]!.id).not.toBe(first.id);

    expect((await cli("complete", "a")).code).toBe(0);
    expect((await cli("complete", "b")).code).toBe(0);
    expect((await cli("finalize", "--summary", "done")).code).toBe(0);
    await expectConverged(gh, cli, dir);
  }, 60_000);

  it("duplicated progress comments converge to the oldest of the token's user; others' copies untouched", async () => {
    const { gh, cli, dir } = await setup();
    expect((await cli("init", "--epic", "EPIC-F4", "--domains", "a,b")).code).toBe(0);
    const { runId } = await statusJson(cli);
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/2")).code).toBe(0);
    expect(
      await waitFor(async () => ours(gh, runId, "progress")[0]?.body.includes("| 1/2 |") ?? false, 10_000),
    ).toBe(true);
    const original = ours(gh, runId, "progress")[0]!;

    const ownCopy = gh.addComment(REPO, ISSUE, original.body, LOGIN);
    const otherCopy = gh.addComment(REPO, ISSUE, original.body, "someone-else");
    expect(ours(gh, runId, "progress")).toHaveLength(2);

    for (const args of [
      ["update", "b", "--status", "in_progress", "--files", "1/3"],
      ["complete", "a"],
      ["complete", "b"],
      ["finalize", "--summary", "done"],
    ]) {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(0);
    }
    await expectConverged(gh, cli, dir);
    const left = ours(gh, runId, "progress");
    expect(
      left.map((c) => c.id),
      "the oldest copy stays",
    ).toEqual([original.id]);
    expect(gh.comments(REPO, ISSUE).some((c) => c.id === ownCopy.id)).toBe(false);
    const other = gh.comments(REPO, ISSUE).find((c) => c.id === otherCopy.id);
    expect(other, "another user's copy is never touched").toBeDefined();
    expect(other!.body).toBe(original.body);
    expect(other!.author).toBe("someone-else");
    expect(other!.updatedAt).toBe(otherCopy.updatedAt);
  }, 60_000);

  it("a create whose response is lost never produces a duplicate (progress at init, final at finalize)", async () => {
    const { gh, cli, dir } = await setup();
    let runId: string | null = null;
    let maxProgress = 0;
    let maxFinal = 0;
    // Watch the issue the whole time: "no duplicate, ever", not just at the end.
    const watcher = setInterval(() => {
      const mine = gh.comments(REPO, ISSUE).filter((c) => c.author === LOGIN);
      const count = (kind: "progress" | "final") =>
        mine.filter((c) => {
          const marker = parseMarker(c.body);
          return marker?.kind === kind && (runId === null || marker.runId === runId);
        }).length;
      maxProgress = Math.max(maxProgress, count("progress"));
      maxFinal = Math.max(maxFinal, count("final"));
    }, 10);
    try {
      gh.setFaults({ loseCreateResponses: 1 });
      const init = await cli("init", "--epic", "EPIC-F5", "--domains", "a,b");
      expect(init.code, init.stderr).toBe(0);
      expect(init.ms).toBeLessThan(COMMAND_BUDGET_MS);
      runId = (await statusJson(cli)).runId;
      expect(gh.requests.filter((r) => r.outcome === "lost")).toHaveLength(1);

      for (const args of [
        ["update", "a", "--status", "in_progress", "--files", "1/2"],
        ["update", "b", "--status", "in_progress", "--files", "2/5"],
        ["complete", "a"],
        ["complete", "b"],
      ]) {
        const result = await cli(...args);
        expect(result.code, result.stderr).toBe(0);
      }
      await settle(dir);
      gh.setFaults({ loseCreateResponses: 1 });
      const finalize = await cli("finalize", "--summary", "done");
      expect(finalize.code, finalize.stderr).toBe(0);
      expect((await retryUntilDone(cli)).code).toBe(0);
      await expectConverged(gh, cli, dir);
      expect(gh.requests.filter((r) => r.outcome === "lost")).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      clearInterval(watcher);
    }
    expect(maxProgress, "never two progress comments").toBe(1);
    expect(maxFinal, "never two final summaries").toBe(1);
  }, 60_000);

  it("401 bad credentials: explained with GITHUB_TOKEN/GH_TOKEN, queued, delivered by retry with a good token", async () => {
    const { gh, cli, dir, as, env } = await setup();
    const bad = as({ ...env, GITHUB_TOKEN: BAD_TOKEN });

    const init = await bad("init", "--epic", "EPIC-F6", "--domains", "a,b");
    expectQueuedWarning(init);
    expect(init.stderr).toMatch(/GITHUB_TOKEN|GH_TOKEN/);
    expect(init.stderr).toMatch(/401|bad credentials|rejected the token/i);
    expect(init.stderr + init.stdout).not.toContain(BAD_TOKEN);
    for (const args of [
      ["update", "a", "--status", "in_progress", "--files", "2/2"],
      ["complete", "a"],
      ["fail", "b", "--error", "no disk"],
    ]) {
      const result = await bad(...args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.ms, "after a 401 the run backs off: later calls are local").toBeLessThan(2000);
    }
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);

    const retry = await cli("retry");
    expect(retry.code, retry.stderr).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    const { runId } = await statusJson(cli);
    expect(ours(gh, runId, "progress")).toHaveLength(1);
    expect(ours(gh, runId, "progress")[0]!.body).toContain("❌ Failed");
    const unauthorised = gh.requests.filter((r) => r.status === 401);

    // With the token fixed, the next change reaches the issue on its own within ~2 s, like any other.
    // (A background writer started earlier by a bad-token process must not be the one left to write
    // it with the old token, failing and queueing.)
    const fixed = await cli("update", "b", "--status", "failed", "--files", "1/5");
    expect(fixed.code, fixed.stderr).toBe(0);
    const shown = await waitFor(
      () => ours(gh, runId, "progress")[0]?.body.includes("| 1/5 |") ?? false,
      6000,
    );
    expect(shown, "the change made after the token was fixed reached the issue").toBe(true);

    const finalize = await cli("finalize", "--summary", "partly merged");
    expect(finalize.code, finalize.stderr).toBe(0);
    expect(finalize.stderr, "finalize with a good token and a healthy GitHub").not.toMatch(/remain queued/);
    await expectConverged(gh, cli, dir);
    expect(
      gh.requests.filter((r) => r.status === 401),
      "no 401 after the good token took over",
    ).toEqual(unauthorised);
  }, 60_000);

  it("403 on a locked issue: says 'locked', exit 0, queued; unlock + retry delivers", async () => {
    const { gh, cli, dir } = await setup();
    gh.lockIssue(REPO, ISSUE, true);
    const init = await cli("init", "--epic", "EPIC-F7", "--domains", "a");
    expectQueuedWarning(init);
    expect(init.stderr).toMatch(/locked/i);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    const update = await cli("update", "a", "--status", "in_progress", "--files", "1/4");
    expect(update.code, update.stderr).toBe(0);
    const stillLocked = await cli("retry");
    expect(stillLocked.code).toBe(3);
    expect(stillLocked.stderr).toMatch(/locked/i);

    gh.lockIssue(REPO, ISSUE, false);
    const retry = await retryUntilDone(cli);
    expect(retry.code, retry.stderr).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    expect((await cli("complete", "a")).code).toBe(0);
    expect((await cli("finalize", "--summary", "ok")).code).toBe(0);
    await expectConverged(gh, cli, dir);
  }, 60_000);

  it("404 on a missing issue: says not found, exit 0, queued for that issue", async () => {
    const { gh, cli, dir } = await setup({}, taskMd(999));
    const init = await cli("init", "--epic", "EPIC-F7b", "--domains", "a");
    expectQueuedWarning(init);
    expect(init.stderr).toMatch(/not found/i);
    expect(init.stderr).toMatch(/999/);
    const update = await cli("update", "a", "--status", "in_progress", "--files", "1/4");
    expect(update.code, update.stderr).toBe(0);
    const finalize = await cli("finalize", "--summary", "ok");
    expect(finalize.code, finalize.stderr).toBe(0);
    const entries = await queueEntries(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry.issue_number).toBe(999);
      expect(typeof entry.comment).toBe("string");
      expect(Number.isNaN(Date.parse(String(entry.timestamp)))).toBe(false);
    }
    expect((await cli("retry")).code).toBe(3);
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);
    expect((await statusJson(cli)).agents[0]!.filesCompleted).toBe(1);
  }, 60_000);

  it("404 on a missing repository (--repo acme/nope): says not found, exit 0, queued", async () => {
    const { gh, cli, dir } = await setup({}, taskMd(ISSUE), ["--repo", "acme/nope"]);
    const init = await cli("init", "--epic", "EPIC-F7c", "--domains", "a");
    expectQueuedWarning(init);
    expect(init.stderr).toMatch(/not found/i);
    expect(init.stderr).toMatch(/acme\/nope/);
    expect((await cli("complete", "a")).code).toBe(0);
    const entries = await queueEntries(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry.repo).toBe("acme/nope");
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);
  }, 60_000);

  it("processes killed with SIGKILL at random moments: state stays valid and true, the issue converges", async () => {
    const { gh, cli, dir, env } = await setup();
    const domains = ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"];
    const init = await cli("init", "--epic", "EPIC-F8", "--domains", domains.join(","));
    expect(init.code, init.stderr).toBe(0);
    const agentState = (view: StatusView) =>
      new Map(view.agents.map((a) => [a.domain, `${a.status} ${a.filesCompleted}/${a.filesTotal}`]));
    let known = agentState(await statusJson(cli));

    // A small deterministic PRNG, so a failing round can be replayed.
    let seed = 0x51f;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const rounds = 4;
    let killedAny = 0;
    for (let round = 1; round <= rounds; round++) {
      const wanted = new Map(domains.map((d, i) => [d, `in_progress ${round}/${10 + i}`]));
      const running = domains.map((domain, i) =>
        spawnCli(
          ["update", domain, "--status", "in_progress", "--files", `${round}/${10 + i}`, "--dir", dir],
          { env, timeoutMs: 30_000 },
        ),
      );
      const victims = new Set<number>();
      while (victims.size < domains.length / 2) victims.add(Math.floor(random() * domains.length));
      const timers = [...victims].map((index) =>
        setTimeout(() => running[index]!.child.kill("SIGKILL"), 20 + Math.floor(random() * 280)),
      );
      const results = await Promise.all(running.map((r) => r.done));
      for (const timer of timers) clearTimeout(timer);

      const status = await cli("status", "--json");
      expect(status.code, `round ${round}: status after kills: ${status.stderr}`).toBe(0);
      const view = JSON.parse(status.stdout) as StatusView;
      const now = agentState(view);
      results.forEach((result, index) => {
        const domain = domains[index]!;
        if (result.signal === "SIGKILL") {
          killedAny++;
          // Killed: either its change landed whole, or not at all.
          expect([known.get(domain), wanted.get(domain)], `round ${round}: ${domain} (killed)`).toContain(
            now.get(domain),
          );
        } else {
          expect(result.code, `round ${round}: ${domain}: ${result.stderr}`).toBe(0);
          expect(now.get(domain), `round ${round}: ${domain} (completed)`).toBe(wanted.get(domain));
        }
      });
      known = now;
    }
    expect(killedAny, "some processes really were killed").toBeGreaterThan(0);

    // The next commands work.
    for (const domain of domains) {
      const result = await cli("complete", domain);
      expect(result.code, `complete ${domain}: ${result.stderr}`).toBe(0);
    }
    const finalize = await cli("finalize", "--summary", "survived");
    expect(finalize.code, finalize.stderr).toBe(0);
    const retry = await retryUntilDone(cli);
    expect(retry.code, retry.stderr).toBe(0);
    const view = await expectConverged(gh, cli, dir);
    expect(view.agents.every((a) => a.status === "completed")).toBe(true);
  }, 60_000);
});
