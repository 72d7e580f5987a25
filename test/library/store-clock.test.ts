import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createParallelReporter, createPostgresStore } from "../../src/index.js";
import { MemoryClient } from "../support/memory-client.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * A machine whose clock is 20 minutes ahead of the database's, reporting into a shared run: the agents'
 * times are the database's, and so is the time the posted table is drawn at, so no agent shows as stalled
 * and no estimate is made up from the gap.
 */
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(postgresUnavailable())("a machine's clock that is off, with a database store", () => {
  it("draws the issue's table and status() at the database's time: no false Stalled, no made-up ETA", async () => {
    const { url } = await sharedPostgres().createDatabase("skew");
    const dir = await mkdtemp(join(tmpdir(), "pp-skew-"));
    folders.push(dir);
    const store = createPostgresStore({ url, epicId: "E-SKEW" });
    const client = new MemoryClient();
    const reporter = createParallelReporter(dir, {
      env: {},
      store,
      client,
      clock: { now: () => Date.now() + 20 * 60_000 },
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 0 },
    });
    try {
      const agents = await reporter.initializeParallelTracking("E-SKEW", ["a", "b"]);
      await reporter.updateAgentProgress(agents[0]!.agentId, "in_progress", 1, 10);
      await reporter.updateAgentProgress(agents[1]!.agentId, "in_progress", 2, 10);
      await reporter.flush();
      const body = client.comments.at(-1)!.body;
      expect(body).toMatch(/\| b \| \S+ \| 🔄 In Progress \| 2\/10 \| 20% \|/);
      expect(body).not.toContain("Stalled");
      expect(body).not.toContain("**ETA:**");
      // status() judges the run at the database's time too.
      const view = await reporter.status();
      expect(view.stalled).toBe(0);
      expect(view.etaMs).toBeNull();
      expect(view.agents.every((agent) => !agent.stalled && agent.silentForMs < 60_000)).toBe(true);
    } finally {
      await reporter.close();
      await store.close();
    }
  });
});
