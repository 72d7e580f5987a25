import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/errors.js";
import { createParallelReporter } from "../../src/reporter.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * A database that stops answering right after init's transaction committed (while the first write takes
 * its lease): the run is started, so init resolves with its agents and warns; it does not reject as if
 * nothing had been done (a second init would then need force, and leave a second progress comment).
 */
describe("init whose run is committed when the store stops answering", () => {
  it("resolves with the run's agents and one warning; a later change brings the issue up to date", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const files = new FileRunStore(fs, "/epic");
    let transactions = 0;
    let down = false;
    const store: RunStore = {
      location: files.location,
      read: () => files.read(),
      transact: (change) => {
        transactions++;
        // The first transaction is init's own; the database is gone for the next.
        if (transactions === 2) down = true;
        return down
          ? Promise.reject(new StoreUnavailableError("postgresql://u@h/db is not answering: terminated"))
          : files.transact(change);
      },
      subscribe: (listener) => files.subscribe(listener),
      close: () => files.close(),
    };
    const client = new MemoryClient();
    const warnings: string[] = [];
    const reporter = createParallelReporter("/epic", {
      fs,
      env: {},
      store,
      client,
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 0 },
      onWarning: (message) => warnings.push(message),
    });
    try {
      const agents = await reporter.initializeParallelTracking("E", ["a", "b"]);
      expect(agents.map((agent) => agent.domain)).toEqual(["a", "b"]);
      expect(Object.keys((await files.read())!.agents)).toEqual(agents.map((agent) => agent.agentId));
      expect(warnings).toEqual([
        "postgresql://u@h/db is not answering: terminated: the run is started; its progress comment is written by the next change, retry or finalize",
      ]);
      expect(client.comments).toHaveLength(0);

      down = false;
      await reporter.updateAgentProgress(agents[0]!.agentId, "in_progress", 1, 2);
      await reporter.flush();
      expect(client.comments).toHaveLength(1);
      expect(client.comments[0]!.body).toMatch(/\| a \| \S+ \| 🔄 In Progress \| 1\/2 \| 50% \|/);
    } finally {
      await reporter.close();
    }
  });
});
