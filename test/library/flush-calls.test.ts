import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/index.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * flush() as orchestration code uses it: calls made without awaiting them (an event handler's), then
 * `await reporter.flush()` before the process exits. It waits for those calls first, as close() does.
 */

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe("flush()", () => {
  it("waits for the calls made before it, then for their writes: the issue shows the last of them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-flush-calls-"));
    folders.push(dir);
    const client = new MemoryClient();
    const reporter = createParallelReporter(dir, {
      env: {},
      client,
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 20 },
    });
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    let settled = 0;
    for (let k = 1; k <= 20; k++) {
      void reporter.updateAgentProgress("a", "in_progress", k, 20).finally(() => settled++);
    }
    void reporter.markAgentComplete("b", "done").finally(() => settled++);
    await reporter.flush();
    expect(settled).toBe(21);
    const body = client.comments[0]!.body;
    expect(body).toContain("| 20/20 |");
    expect(body).toMatch(/\| b .*Completed/);
    await reporter.close();
  });
});
