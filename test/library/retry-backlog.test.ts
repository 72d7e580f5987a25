import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GitHubError } from "../../src/errors.js";
import { createParallelReporter } from "../../src/index.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * A retry (and so a finalize) with many queued posts of earlier runs: the run of the directory is brought
 * up to date first, whatever the others take of the command's time, and the token's login is asked once.
 */
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

const github = { issueNumber: 5, repo: "o/r", minIntervalMs: 0 };

describe("a retry behind a backlog of earlier runs' posts", () => {
  it("writes the current run first, and asks GitHub for the token's login once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-backlog-"));
    folders.push(dir);
    const client = new MemoryClient();
    const reporter = createParallelReporter(dir, { env: {}, client, github });
    try {
      // Four runs posted, each abandoned by the next (init --force): three marks queued.
      for (let run = 0; run < 4; run++) {
        await reporter.initializeParallelTracking("E", ["a"], undefined, { force: true });
        await reporter.flush();
      }
      client.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
      await reporter.updateAgentProgress("a", "in_progress", 2, 4);
      await reporter.flush();
      client.down = null;
      const queued = (await readdir(join(dir, ".github_parallel_queue"))).filter((n) => n.endsWith(".json"));
      expect(queued.length).toBeGreaterThanOrEqual(3);
      client.calls.length = 0;
      // Time for about one write (they are a second apart): it goes to the current run.
      await reporter.retryReport({ deadline: Date.now() + 1500 });
      const state = (await reporter.load())!;
      expect(state.sync.postedSeq).toBe(state.seq);
      // And the rest, with the login asked once for all the lookups.
      client.calls.length = 0;
      await reporter.retryReport();
      expect(client.calls.filter((call) => call === "viewer").length).toBeLessThanOrEqual(1);
    } finally {
      await reporter.close();
    }
  });
});
