import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";
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

  it("the library: retryReport({ dryRun }) plans it as owed; retryOfflineQueue() writes it and counts it", async () => {
    const { dir, env, runId, seq, postedSeq, shown } = await leftBehind();
    const reporter = createParallelReporter(dir, { env });
    const dry = await reporter.retryReport({ dryRun: true });
    expect(dry.owed).toEqual([
      { kind: "progress", runId, repo: "acme/widgets", issueNumber: 123, seq, postedSeq },
    ]);
    expect(dry).toMatchObject({ plan: [], sent: 0, remaining: 1 });
    expect(await reporter.retryOfflineQueue()).toBe(1);
    expect(shown()).toContain("| 7/10 |");
    expect((await reporter.retryReport({ dryRun: true })).owed).toEqual([]);
    await reporter.close();
  });
});
