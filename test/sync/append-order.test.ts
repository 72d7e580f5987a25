import { rename } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queueFiles, taskMd } from "../support/cli.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

const setup = useInProcessGitHub();

describe("append mode after an outage", () => {
  it("posts the history in order: queued snapshots before any later write, then the final summary", async () => {
    const run = await setup({ task: taskMd(123, "  comment_mode: append\n") });
    const { gh, dir } = run;
    // No background writer: each call writes what is due itself, so the order is the calls' own.
    const reporter = run.reporter();
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    for (let files = 1; files <= 3; files++) {
      run.time.advance(1100);
      await reporter.updateAgentProgress("a", "in_progress", files, 4);
    }
    expect(run.seqs("history")).toEqual([1, 2, 3, 4]);

    gh.setFaults({ down: true });
    run.time.advance(1100);
    await reporter.updateAgentProgress("b", "in_progress", 1, 4); // seq 5: fails, queued
    run.time.advance(2200);
    await reporter.updateAgentProgress("b", "in_progress", 2, 4); // seq 6: fails, queued
    run.time.advance(4200);
    await reporter.updateAgentProgress("b", "in_progress", 3, 4); // seq 7: fails, queued
    expect(await queueFiles(dir)).toHaveLength(3);
    gh.setFaults({ down: false });

    run.time.advance(60_000); // the back-off is over: the next change is written at once
    await reporter.markAgentComplete("a", "done"); // seq 8
    run.time.advance(1100);
    await reporter.markAgentComplete("b", "done"); // seq 9
    run.time.advance(1100);
    await reporter.finalizeParallelExecution("merged"); // seq 10 and the summary
    expect(await reporter.retryOfflineQueue()).toBe(0);

    expect(run.seqs("history")).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const kinds = gh
      .comments("acme/widgets", 123)
      .map((comment) => (comment.body.includes("parallel-progress:final") ? "final" : "progress"));
    expect(kinds.at(-1)).toBe("final");
    expect(kinds.filter((kind) => kind === "final")).toHaveLength(1);
    expect(await queueFiles(dir)).toEqual([]);
  });

  it("posts queued history in seq order when the clock stepped back between two failures", async () => {
    const run = await setup({ task: taskMd(123, "  comment_mode: append\n") });
    const { gh, dir } = run;
    const reporter = run.reporter();
    await reporter.initializeParallelTracking("E", ["a"]);
    gh.setFaults({ down: true });
    run.time.advance(1100);
    await reporter.updateAgentProgress("a", "in_progress", 1, 4); // seq 2: fails, queued
    run.time.advance(4200);
    await reporter.updateAgentProgress("a", "in_progress", 2, 4); // seq 3: fails, queued
    const [, second] = await queueFiles(dir);
    // Queued while the clock was an hour behind: its name sorts first.
    const queue = join(dir, ".github_parallel_queue");
    await rename(join(queue, second!), join(queue, "comment_20000101_000000_000000.json"));
    gh.setFaults({ down: false });
    run.time.advance(60_000);
    expect((await reporter.retryReport()).remaining).toBe(0);
    expect(run.seqs("history")).toEqual([1, 2, 3]);
  });
});
