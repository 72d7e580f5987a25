import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/index.js";

/**
 * Agent text of any length is taken (a compiler error or a stack trace never costs the event), kept as
 * given up to 2,000 characters, cut after its secrets are masked; the run state stays bounded.
 */

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe("long agent text in the library", () => {
  it("logAgentEvent and markAgentFailed take a megabyte, keep 2,000 characters, and the state stays small", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-long-"));
    folders.push(dir);
    const secret = "plain-secret-0123456789abcdefghij";
    const reporter = createParallelReporter(dir, { env: { GITHUB_TOKEN: secret } });
    try {
      const [api, web] = await reporter.initializeParallelTracking("E", ["api", "web"]);
      const megabyte = `\n${"x".repeat(1_000_000)}\n`;
      for (let i = 0; i < 12; i++) await reporter.logAgentEvent(api!.agentId, megabyte);
      await reporter.markAgentFailed(web!.agentId, megabyte);
      const state = reporter.executionState;
      const events = state.agents[api!.agentId]!.events!;
      expect(events).toHaveLength(10);
      for (const event of events) expect(event.message).toBe(`\n${"x".repeat(1998)}…`);
      expect(state.agents[web!.agentId]!.error).toBe(`\n${"x".repeat(1998)}…`);
      expect((await stat(join(dir, ".parallel-progress/state.json"))).size).toBeLessThan(40_000);
      // Masked first, then cut: no part of a secret at the cut is kept.
      await reporter.logAgentEvent(api!.agentId, `${"y".repeat(1990)}${secret}`);
      const logged = reporter.executionState.agents[api!.agentId]!.events!.at(-1)!.message;
      expect(logged.startsWith("y".repeat(1990))).toBe(true);
      expect(logged).not.toContain(secret.slice(0, 6));
    } finally {
      await reporter.close();
    }
  });

  it("finalizeParallelExecution keeps 65,536 characters of a huge merge summary, and knows it again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-long-"));
    folders.push(dir);
    const reporter = createParallelReporter(dir, { env: {} });
    try {
      await reporter.initializeParallelTracking("E", ["api"]);
      const huge = "s".repeat(2_000_000);
      expect((await reporter.finalizeParallelExecution(huge)).finalizedNow).toBe(true);
      expect(reporter.executionState.mergeSummary).toBe(`${"s".repeat(65_535)}…`);
      // What the `…` stands for: the final summary's note counts it.
      expect(reporter.executionState.mergeSummaryCut).toBe(2_000_000 - 65_535);
      expect((await stat(join(dir, ".parallel-progress/state.json"))).size).toBeLessThan(80_000);
      // The same summary again is the run's own (finalize is idempotent), not another left unused.
      expect((await reporter.finalizeParallelExecution(huge)).summaryUnused).toBe(false);
    } finally {
      await reporter.close();
    }
  });
});
