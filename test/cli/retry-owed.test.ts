import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { createParallelReporter } from "../../src/reporter.js";
import { allFileText, runCli, stopFlushers, taskMd } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const TOKEN = "ghp_testtoken0123456789abcdefghijklmnopqrstu";
const fakeGitHub = useFakeGitHub(TOKEN);

/**
 * A script's process that ended before its write (`process.exit()` right after a call: the timer writer
 * never ran): the run's latest state is neither on the issue nor queued. A retry writes it; the dry run
 * says so, and both count it.
 */
async function leftBehind() {
  const harness = await fakeGitHub();
  // A flusher that starts nothing: as the timer writer of a process that exited.
  const reporter = createParallelReporter(harness.dir, { env: harness.env, flusher: () => undefined });
  await reporter.initializeParallelTracking("E", ["a", "b"]);
  await reporter.updateAgentProgress("a", "in_progress", 7, 10); // within 1 s of init's write: not due
  const state = reporter.executionState;
  expect(state.sync.postedSeq).toBeLessThan(state.seq);
  const shown = () =>
    harness.gh
      .comments("acme/widgets", 123)
      .map((comment) => comment.body)
      .join("\n");
  expect(shown()).not.toContain("| 7/10 |");
  return { ...harness, runId: state.runId, seq: state.seq, postedSeq: state.sync.postedSeq, shown };
}

describe("retry of a run whose latest state is neither on the issue nor queued", () => {
  it("the CLI: --dry-run lists the progress comment to write (exit 3); retry writes it and counts it", async () => {
    const { cli, runId, seq, shown } = await leftBehind();
    const dry = await cli("retry", "--dry-run");
    expect(dry.stdout).toBe(`-\tcurrent\tprogress\tacme/widgets#123\t${runId}\t${seq}\n`);
    expect(dry.code).toBe(3);
    const retry = await cli("retry", "--verbose");
    expect(retry.stderr).toContain("1 post(s) delivered, 0 remaining");
    expect(retry.code).toBe(0);
    expect(shown()).toContain("| 7/10 |");
    const again = await cli("retry", "--dry-run");
    expect(again.stdout).toBe("");
    expect(again.code).toBe(0);
  });

  it("a call configured for another API: --dry-run lists it left and says why, as retry keeps it queued", async () => {
    const { dir, env, runId, seq, shown } = await leftBehind();
    const other = { env: { ...env, GITHUB_API_URL: "http://127.0.0.1:1" } };
    const dry = await runCli(["retry", "--dry-run", "--dir", dir], other);
    expect(dry.stdout).toBe(`-\tleft\tprogress\tacme/widgets#123\t${runId}\t${seq}\n`);
    expect(dry.stderr).toContain("but this call's GitHub API is http://127.0.0.1:1");
    expect(dry.code).toBe(3);
    const retry = await runCli(["retry", "--dir", dir], other);
    expect(retry.stderr).toContain("but this call's GitHub API is http://127.0.0.1:1");
    expect(retry.code).toBe(3);
    expect(shown()).not.toContain("| 7/10 |");
    await stopFlushers(dir);
  });

  it("a call configured for another API, with nothing of the run to send: the dry run says nothing, as retry", async () => {
    const { cli, dir, env } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    const other = { env: { ...env, GITHUB_API_URL: "http://127.0.0.1:1" } };
    for (const args of [["retry", "--dry-run"], ["retry"]]) {
      const result = await runCli([...args, "--dir", dir], other);
      expect([result.code, result.stdout, result.stderr], args.join(" ")).toEqual([0, "", ""]);
    }
  });

  it("the library: retryReport({ dryRun }) plans it as owed; retryOfflineQueue() writes it and counts it", async () => {
    const { dir, env, runId, seq, postedSeq, shown } = await leftBehind();
    const reporter = createParallelReporter(dir, { env });
    const dry = await reporter.retryReport({ dryRun: true });
    expect(dry.owed).toEqual([
      { kind: "progress", runId, repo: "acme/widgets", issueNumber: 123, seq, postedSeq, action: "current" },
    ]);
    expect(dry).toMatchObject({ plan: [], sent: 0, remaining: 1 });
    expect(await reporter.retryOfflineQueue()).toBe(1);
    expect(shown()).toContain("| 7/10 |");
    expect((await reporter.retryReport({ dryRun: true })).owed).toEqual([]);
    await reporter.close();
  });
});

/**
 * task.md changed since the run last read it: the dry run plans with the settings the retry would read
 * (and save), and saves none of them itself.
 */
describe("retry --dry-run of a run whose task.md changed since it was read", () => {
  it("a run given an issue later: the dry run lists its progress comment (exit 3) and changes nothing", async () => {
    const { cli, dir, gh } = await fakeGitHub({ task: "# task\n" });
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/2")).code).toBe(0);
    const { runId, sync } = JSON.parse((await cli("status", "--json")).stdout);
    await writeFile(join(dir, "task.md"), taskMd(123));
    const before = await allFileText(dir);
    const dry = await cli("retry", "--dry-run");
    expect(dry.stdout).toBe(`-\tcurrent\tprogress\tacme/widgets#123\t${runId}\t${sync.seq}\n`);
    expect(dry.code).toBe(3);
    expect(await allFileText(dir)).toBe(before);
    const retry = await cli("retry", "--verbose");
    expect(retry.stderr).toContain("1 post(s) delivered, 0 remaining");
    expect(
      gh
        .comments("acme/widgets", 123)
        .map((c) => c.body)
        .join("\n"),
    ).toContain("| 1/2 |");
  });

  it("a run finalized while sync was off, then turned on: the dry run lists its final summary too", async () => {
    const { cli, dir, gh } = await fakeGitHub();
    gh.setFaults({ down: true });
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    await stopFlushers(dir); // the queued post stays for the retry below
    await writeFile(join(dir, "task.md"), taskMd(123, "  sync_enabled: false\n"));
    expect((await cli("finalize", "--summary", "merged")).code).toBe(0);
    await writeFile(join(dir, "task.md"), taskMd(123));
    gh.setFaults({ down: false });
    const { runId, sync } = JSON.parse((await cli("status", "--json")).stdout);
    const before = await allFileText(dir);
    const dry = await cli("retry", "--dry-run");
    const lines = dry.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(`^comment_\\S+\\.json\\tcurrent\\tprogress\\tacme/widgets#123\\t${runId}\\t`),
    );
    expect(lines[1]).toBe(`-\tcurrent\tfinal\tacme/widgets#123\t${runId}\t${sync.seq}`);
    expect(dry.code).toBe(3);
    expect(await allFileText(dir)).toBe(before);
    const retry = await cli("retry", "--verbose");
    expect(retry.stderr).toContain("2 post(s) delivered, 0 remaining");
    const finals = gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    expect(finals).toHaveLength(1);
  });

  it("sync turned off since a post was queued: the dry run holds it as the retry does (nothing would be sent, exit 3)", async () => {
    const { cli, dir, gh } = await fakeGitHub();
    gh.setFaults({ down: true });
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    await stopFlushers(dir); // the queued post stays for the retries below
    gh.setFaults({ down: false });
    await writeFile(join(dir, "task.md"), taskMd(123, "  sync_enabled: false\n"));
    const { runId } = JSON.parse((await cli("status", "--json")).stdout);
    const before = await allFileText(dir);
    const requests = gh.requests.length;
    const dry = await cli("retry", "--dry-run");
    expect(dry.stdout).toMatch(
      new RegExp(`^comment_\\S+\\.json\\theld\\tprogress\\tacme/widgets#123\\t${runId}\\t\\d+\\n$`),
    );
    expect(dry.stderr).toBe(
      "parallel-progress: warning: GitHub: sync is off (github.sync_enabled: false): nothing would be sent, 1 post(s) stay queued\n",
    );
    expect(dry.code).toBe(3);
    expect(await allFileText(dir)).toBe(before);
    const retry = await cli("retry");
    expect(retry.stderr).toContain(
      "GitHub: sync is off (github.sync_enabled: false): nothing sent, 1 post(s) stay queued",
    );
    expect(retry.code).toBe(3);
    expect(gh.requests.length, "no GitHub traffic").toBe(requests);
  });

  it("the library: retryReport({ dryRun }) owes what retryReport() then sends, and saves no settings", async () => {
    const { dir, env } = await fakeGitHub({ task: "# task\n" });
    const first = createParallelReporter(dir, { env });
    await first.initializeParallelTracking("E", ["a"]);
    await first.updateAgentProgress("a", "in_progress", 1, 2);
    await first.close();
    await writeFile(join(dir, "task.md"), taskMd(123));
    const reporter = createParallelReporter(dir, { env });
    const dry = await reporter.retryReport({ dryRun: true });
    expect(dry.owed.map(({ kind, repo, issueNumber }) => ({ kind, repo, issueNumber }))).toEqual([
      { kind: "progress", repo: "acme/widgets", issueNumber: 123 },
    ]);
    expect(dry).toMatchObject({ sent: 0, remaining: 1 });
    expect((await reporter.load())?.github.issueNumber).toBeNull();
    expect(await reporter.retryReport()).toMatchObject({ sent: 1, remaining: 0 });
    await reporter.close();
  });
});
