import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createParallelReporter, createPostgresStore } from "../../src/index.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * One reporter on a PostgreSQL store, an agent's changes sent without awaiting each: they are made in the
 * order they were called, though the store makes changes side by side and retries one that lost a race
 * (which then landed after a later one: 7/10, a completed agent back "in progress").
 */
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(postgresUnavailable())("a reporter's changes on a PostgreSQL store", () => {
  it("end with the last one called, for each agent, however many are in flight", async () => {
    const { url } = await sharedPostgres().createDatabase("order");
    const dir = await mkdtemp(join(tmpdir(), "pp-order-"));
    folders.push(dir);
    const store = createPostgresStore({ url, epicId: "E-ORDER", maxConnections: 8 });
    const reporter = createParallelReporter(dir, { env: {}, store });
    try {
      await reporter.initializeParallelTracking("E-ORDER", ["a", "b", "c"]);
      const calls: Promise<void>[] = [];
      for (let done = 1; done <= 15; done++) {
        for (const agent of ["a", "b", "c"])
          calls.push(reporter.updateAgentProgress(agent, "in_progress", done, 20));
      }
      calls.push(reporter.markAgentComplete("a", "done"));
      await Promise.all(calls);
      const agents = Object.values((await store.read())!.agents);
      expect(agents.map((agent) => [agent.domain, agent.status, agent.filesCompleted])).toEqual([
        ["a", "completed", 20],
        ["b", "in_progress", 15],
        ["c", "in_progress", 15],
      ]);
    } finally {
      await reporter.close();
      await store.close();
    }
  });
});
