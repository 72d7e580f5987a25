import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * A listener of the caller's that throws: its error reaches the call (as EventEmitter's `emit` throws
 * it), but only after the reporter's own work is done. It once stopped the call between the change and
 * its GitHub write: the write lease the change had claimed held every process's writes back for 15 s.
 */

function setup() {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  fs.mkdirSync("/epic", { recursive: true });
  const client = new MemoryClient();
  const make = () =>
    createParallelReporter("/epic", {
      fs,
      env: {},
      client,
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 0 },
    });
  const row = (domain: string) =>
    client.comments.at(-1)?.body.match(new RegExp(`\\| ${domain} \\|[^\\n]*`))?.[0];
  return { make, client, row };
}

describe("a listener that throws", () => {
  it.each(["change", "agentCompleted", "sync"] as const)(
    "on %s: the call rejects with its error once the change is saved and on the issue",
    async (event) => {
      const { make, row } = setup();
      const reporter = make();
      await reporter.initializeParallelTracking("E", ["a", "b"]);
      reporter.on(event, () => {
        throw new Error(`${event} listener bug`);
      });
      await expect(reporter.markAgentComplete("a", "done")).rejects.toThrow(`${event} listener bug`);
      expect(reporter.executionState.agents[Object.keys(reporter.executionState.agents)[0]!]!.status).toBe(
        "completed",
      );
      expect(row("a")).toContain("✅ Completed");
      // Another process's change goes to the issue at once: no lease left behind.
      await make().updateAgentProgress("b", "in_progress", 1, 2);
      expect(row("b")).toContain("🔄 In Progress | 1/2");
    },
  );

  it("on change at init and at finalize: the first comment and the final summary are posted all the same", async () => {
    const { make, client } = setup();
    const reporter = make();
    reporter.on("change", () => {
      throw new Error("listener bug");
    });
    await expect(reporter.initializeParallelTracking("E", ["a"])).rejects.toThrow("listener bug");
    expect(client.comments).toHaveLength(1);
    await expect(reporter.finalizeParallelExecution("merged")).rejects.toThrow("listener bug");
    expect(client.comments.at(-1)!.body).toContain("## 🎉 Final Summary");
  });
});
