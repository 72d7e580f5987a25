import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";
import { MemoryClient } from "../support/memory-client.js";

let dir = "";
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a flusher function given to the library", () => {
  it("is asked once for a burst whatever it returns: a number is not taken for a process id", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-flusher-"));
    let calls = 0;
    const reporter = createParallelReporter(dir, {
      env: {},
      client: new MemoryClient(),
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 60_000 },
      // A queue's new length, say; a pid no process can have (past Linux's largest) would be seen gone.
      flusher: () => {
        calls++;
        return 4_194_305;
      },
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    for (let files = 1; files <= 8; files++) await reporter.updateAgentProgress("a", "in_progress", files, 8);
    expect(calls).toBe(1);
    await reporter.close();
  });
});
