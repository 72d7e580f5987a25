import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createParallelReporter, createPostgresStore, type RunStore } from "../../src/index.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * Changes kept while the store did not answer are applied when their machine reaches it again, each at the
 * time it was made: a report older than the agent's last one (another machine reported since) does not
 * overwrite it, and the agent's events say it was not applied.
 */
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

const stores: [string, (() => Promise<RunStore>) | null][] = [["the file store", null]];
if (!postgresUnavailable()) {
  stores.push([
    "a PostgreSQL store",
    async () =>
      createPostgresStore({ url: (await sharedPostgres().createDatabase("kept")).url, epicId: "E" }),
  ]);
}

describe.each(stores)("a kept report on %s", (_name, makeStore) => {
  it("older than the agent's last report is not applied; a newer one is", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-kept-order-"));
    folders.push(dir);
    const store = makeStore ? await makeStore() : undefined;
    const reporter = createParallelReporter(dir, { env: {}, ...(store ? { store } : {}) });
    try {
      await reporter.initializeParallelTracking("E", ["w"]);
      await reporter.updateAgentProgress("w", "in_progress", 3, 4);
      const reportedAt =
        reporter.executionState!.agents[Object.keys(reporter.executionState!.agents)[0]!]!.reportedAt!;
      // Made a second before that report, on a machine that could not reach the store, applied only now.
      reporter.applyingKeptChange(Date.parse(reportedAt) - 1000);
      await reporter.updateAgentProgress("w", "in_progress", 1, 4);
      reporter.applyingKeptChange(Date.parse(reportedAt) - 500);
      await reporter.markAgentComplete("w", "done");
      let agent = Object.values((await reporter.load())!.agents)[0]!;
      expect([agent.status, agent.filesCompleted, agent.reportedAt]).toEqual(["in_progress", 3, reportedAt]);
      expect(agent.events.map((event) => event.message)).toEqual([
        expect.stringMatching(
          /^not applied: update in_progress 1\/4, made .* older than the agent's last report/,
        ),
        expect.stringMatching(/^not applied: complete, made /),
      ]);
      // Made after it: applied.
      reporter.applyingKeptChange(Date.parse(reportedAt) + 1);
      await reporter.updateAgentProgress("w", "in_progress", 4, 4);
      agent = Object.values((await reporter.load())!.agents)[0]!;
      expect(agent.filesCompleted).toBe(4);
    } finally {
      await reporter.close();
      await store?.close();
    }
  });
});
