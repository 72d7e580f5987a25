import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../src/errors.js";
import type { CallOptions, IssueComment } from "../../src/github/types.js";
import { createParallelReporter } from "../../src/reporter.js";
import { COMMAND_DEADLINE_MS } from "../../src/sync/deadline.js";
import type { FileSystem } from "../../src/util/io.js";
import { TimedClient } from "../support/timed-client.js";

/**
 * A GitHub that takes 3 s per request, on the injected clock, and gives up when the caller's time is
 * up as the real client does: what the command's deadline leaves undone must be queued. Records the
 * time by which each request had to be done.
 */
function slowGitHub(clock: { now: number }) {
  const deadlines: (number | undefined)[] = [];
  const client = new TimedClient(async (options?: CallOptions) => {
    const deadline = clock.now + (options?.timeoutMs ?? Number.POSITIVE_INFINITY);
    deadlines.push(options?.timeoutMs === undefined ? undefined : deadline);
    if (clock.now + 3000 > deadline) {
      clock.now = Math.max(clock.now, deadline);
      throw new GitHubError("GitHub did not answer in time", { kind: "timeout" });
    }
    clock.now += 3000;
  });
  return { client, deadlines };
}

describe("one deadline per command", () => {
  it("finalize against a GitHub taking 3 s per request stops at the command's deadline and queues the rest", async () => {
    const fs = createFsFromVolume(
      Volume.fromJSON({ "/epic/task.md": "---\ngithub:\n  issue_number: 123\n  repo: acme/widgets\n---\n" }),
    ) as unknown as FileSystem;
    const time = { now: Date.parse("2025-10-19T16:30:00Z") };
    const { client, deadlines } = slowGitHub(time);
    const reporter = createParallelReporter("/epic", {
      fs,
      clock: { now: () => time.now },
      env: {},
      client,
      flusher: () => {},
      sleep: async (ms) => {
        time.now += ms;
      },
    });
    await reporter.initializeParallelTracking("E", ["a"]); // viewer, list, create: 9 s, within its deadline
    expect(client.comments).toHaveLength(1);
    await reporter.markAgentComplete("a", "done");
    deadlines.length = 0;
    const started = time.now;
    const result = await reporter.finalizeParallelExecution("merged");
    // Every request of the command had the same deadline, and the command ended by it.
    expect(new Set(deadlines)).toEqual(new Set([started + COMMAND_DEADLINE_MS]));
    expect(time.now).toBeLessThanOrEqual(started + COMMAND_DEADLINE_MS);
    expect(result).toMatchObject({ finalizedNow: true, posted: false });
    expect(result.queued).toBeGreaterThanOrEqual(1);
    // A later retry (a new command, a new deadline) delivers what was left.
    const retried = await reporter.retryReport();
    expect(retried.remaining).toBe(0);
    expect(
      client.comments.filter((c: IssueComment) => c.body.includes("parallel-progress:final")),
    ).toHaveLength(1);
  });
});
