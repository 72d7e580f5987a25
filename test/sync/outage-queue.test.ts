import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queueFiles } from "../support/cli.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

// Agent ids hold the run's start time: impl-a-163000.
const setup = useInProcessGitHub();
const start = Date.parse("2025-10-19T16:30:00Z");

describe("the offline queue while GitHub stays down", () => {
  it("holds one progress entry per run in edit mode, replaced by the newest snapshot", async () => {
    const run = await setup({ start });
    const { gh, dir } = run;
    const reporter = run.reporter();
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    gh.setFaults({ down: true });
    for (let files = 1; files <= 5; files++) {
      run.time.advance(61_000); // past any back-off: every change is a write that fails
      await reporter.updateAgentProgress("a", "in_progress", files, 5);
      const queued = await queueFiles(dir);
      expect(queued).toHaveLength(1);
      const item = JSON.parse(await readFile(join(dir, ".github_parallel_queue", queued[0]!), "utf8"));
      expect(item.seq).toBe((await reporter.load())!.seq); // the newest snapshot
      expect(item.comment).toContain(`| a | impl-a-163000 | 🔄 In Progress | ${files}/5 |`);
    }
    gh.setFaults({ down: false });
    expect(await reporter.retryOfflineQueue()).toBe(1);
    expect(await queueFiles(dir)).toEqual([]);
    expect(run.seqs()).toEqual([(await reporter.load())!.seq]);
  });

  it("is emptied by the next write that brings the issue up to date, without a retry", async () => {
    const run = await setup({ start });
    const { gh, dir } = run;
    const reporter = run.reporter();
    await reporter.initializeParallelTracking("E", ["a"]);
    gh.setFaults({ down: true });
    run.time.advance(1100);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    expect(await queueFiles(dir)).toHaveLength(1);
    gh.setFaults({ down: false });
    run.time.advance(61_000);
    await reporter.updateAgentProgress("a", "in_progress", 2, 2);
    expect(run.seqs()).toEqual([(await reporter.load())!.seq]);
    expect(await queueFiles(dir)).toEqual([]);
  });
});
