import { describe, expect, it } from "vitest";
import { WRITE_BURST, WRITE_REFILL_MS } from "../../src/sync/budget.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

/**
 * GitHub's secondary rate limits (the fake enforces them: 80 writes a minute, 500 an hour per token): a run
 * whose agents report every second for twelve minutes, each report a write due (minimum interval 0),
 * stays within them by its write budget, and the issue still ends showing the latest state.
 */
const inProcess = useInProcessGitHub();

describe("a busy run and GitHub's secondary rate limits", () => {
  it("twelve minutes of a report a second: no write refused, the issue caught up at the end", async () => {
    const run = await inProcess();
    const reporter = run.reporter({ github: { minIntervalMs: 0 } });
    const [agent] = await reporter.initializeParallelTracking("E-BUSY", ["a"]);
    const seconds = 12 * 60;
    for (let second = 1; second <= seconds; second++) {
      run.time.advance(1000);
      await reporter.updateAgentProgress(agent!.agentId, "in_progress", second, seconds + 1);
    }
    await run.settle();
    const writes = run.gh.requests.filter((r) => r.method === "PATCH" || r.method === "POST");
    expect(writes.filter((r) => r.status !== 200 && r.status !== 201)).toEqual([]);
    expect(run.warnings.filter((w) => /rate limit/i.test(w))).toEqual([]);
    // 500 in an hour would have been refused from minute nine on; the budget allows 60 + one per 10 s.
    expect(writes.length).toBeLessThanOrEqual(1 + WRITE_BURST + (seconds * 1000) / WRITE_REFILL_MS + 1);
    expect(run.seqs()).toEqual([seconds + 1]);
    await reporter.close();
  }, 120_000);
});
