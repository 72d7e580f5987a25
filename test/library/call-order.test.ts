import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/index.js";

/**
 * A reporter's changes sent without awaiting each, as an orchestrator's Promise.all sends them: an agent's
 * changes are made in call order whatever name it is called by, and a parent's after its children's.
 */
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function reporterIn() {
  const dir = await mkdtemp(join(tmpdir(), "pp-call-order-"));
  folders.push(dir);
  return createParallelReporter(dir, { env: {} });
}

describe("a reporter's un-awaited changes", () => {
  it("of one agent by its id, then by its domain in any case, end with the last one called", async () => {
    const reporter = await reporterIn();
    const agents = await reporter.initializeParallelTracking("E", ["api", "web"]);
    const calls: Promise<void>[] = [];
    for (const { agentId, domain } of agents) {
      for (let done = 1; done <= 6; done++)
        calls.push(reporter.updateAgentProgress(agentId, "in_progress", done, 6));
      calls.push(reporter.markAgentComplete(domain.toUpperCase(), "done"));
    }
    await Promise.all(calls);
    const state = await reporter.load();
    expect(Object.values(state!.agents).map((agent) => agent.status)).toEqual(["completed", "completed"]);
    await reporter.close();
  });

  it("complete a parent after the completions of its children called before it", async () => {
    const reporter = await reporterIn();
    await reporter.initializeParallelTracking("E", ["backend"]);
    await reporter.addAgents(["db", "api"], { parent: "backend" });
    const calls = [
      reporter.updateAgentProgress("db", "in_progress", 1, 2),
      reporter.markAgentComplete("db"),
      reporter.markAgentComplete("api"),
      reporter.markAgentComplete("backend", "all done"),
    ];
    await Promise.all(calls);
    const state = await reporter.load();
    expect(Object.values(state!.agents).map((agent) => [agent.domain, agent.status])).toEqual([
      ["backend", "completed"],
      ["db", "completed"],
      ["api", "completed"],
    ]);
    await reporter.close();
  });
});
