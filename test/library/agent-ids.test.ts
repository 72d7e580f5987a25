import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { createParallelReporter, createPostgresStore } from "../../src/index.js";
import type { ParallelProgressReporter } from "../../src/reporter.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * No agent's id is another agent's domain: the name would be ambiguous, and the agent could no longer
 * report by its id. `initializeParallelTracking` skips such ids; `addAgents` refuses such a domain.
 */

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19).replaceAll(":", "");

/** `idsOfX`: domains that are the ids `x` can get while the test runs (each second of the store's clock). */
async function neverMeet(reporter: ParallelProgressReporter, idsOfX: string[]) {
  const agents = await reporter.initializeParallelTracking("E-IDS", ["x", ...idsOfX]);
  const x = agents[0]!.agentId;
  expect(x).toMatch(/^impl-x-\d{6}-2$/);
  expect(agents.map((agent) => agent.domain)).not.toContain(x);
  await reporter.updateAgentProgress(x, "in_progress", 1, 4);

  const before = JSON.stringify(reporter.executionState);
  const add = reporter.addAgents(["docs", x], { parent: idsOfX[0]! });
  await expect(add).rejects.toThrow(UsageError);
  await expect(add).rejects.toThrow(
    new RegExp(
      `^addAgents: domain "${x}" is the id of agent ${x} \\(x\\) in run E-IDS-\\S+: a domain may not be another agent's id`,
    ),
  );
  expect(JSON.stringify(reporter.executionState)).toBe(before);
  await reporter.updateAgentProgress(x, "in_progress", 2, 4);
  expect(reporter.executionState.agents[x]).toMatchObject({ domain: "x", filesCompleted: 2 });
}

describe("agent ids and domains never meet", () => {
  it("with the file store", async () => {
    const fs = createFsFromVolume(Volume.fromJSON({ "/epic/.keep": "" }));
    const at = Date.parse("2025-10-19T16:30:00.250Z");
    const reporter = createParallelReporter("/epic", { fs, clock: { now: () => at }, env: {} });
    await neverMeet(reporter, ["impl-x-163000"]);
  });

  describe.skipIf(postgresUnavailable())("with a PostgreSQL store", () => {
    const folders: string[] = [];
    afterAll(async () => {
      for (const dir of folders) await rm(dir, { recursive: true, force: true });
    });

    it("on its clock", async () => {
      const { url } = await sharedPostgres().createDatabase("ids_lib");
      const dir = await mkdtemp(join(tmpdir(), "pp-ids-"));
      folders.push(dir);
      const store = createPostgresStore({ url, epicId: "E-IDS" });
      const reporter = createParallelReporter(dir, { env: {}, store });
      try {
        // The database's clock names the second: every one from 2 s before to a minute after now.
        const idsOfX = Array.from({ length: 62 }, (_, i) => `impl-x-${hhmmss(Date.now() + (i - 2) * 1000)}`);
        await neverMeet(reporter, idsOfX);
      } finally {
        await reporter.close();
        await store.close();
      }
    });
  });
});
