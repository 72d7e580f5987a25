import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { createParallelReporter } from "../../src/reporter.js";

/**
 * Runs that replace one another within the same second (`init --force`, as a workflow that restarts at
 * once does) share the guide's `impl-xxx-HHMMSS` base. An agent of the replaced run that still reports
 * by its id must not change the new run: the new run's ids are others, so the call is refused.
 */
describe("runs started in the same second", () => {
  it("give no agent id again: a call meant for the replaced run's agent is refused, the new run untouched", async () => {
    const fs = createFsFromVolume(Volume.fromJSON({ "/epic/.keep": "" }));
    const at = Date.parse("2025-10-19T16:30:00.250Z");
    const reporter = createParallelReporter("/epic", { fs, clock: { now: () => at }, env: {} });
    const ids = async (domains: string[]) =>
      (await reporter.initializeParallelTracking("E", domains, undefined, { force: true })).map(
        (agent) => agent.agentId,
      );

    const first = await ids(["backend", "frontend"]);
    expect(first).toEqual(["impl-bac-163000", "impl-fro-163000"]);
    const second = await ids(["backend", "frontend"]);
    expect(second).toEqual(["impl-bac-163000-2", "impl-fro-163000-2"]);

    const before = JSON.stringify(reporter.executionState);
    // The first run's backend agent, still going, reports by its id.
    const late = reporter.updateAgentProgress(first[0]!, "in_progress", 3, 4);
    await expect(late).rejects.toThrow(UsageError);
    await expect(late).rejects.toThrow(
      /^updateAgentProgress: unknown agent "impl-bac-163000": expected an agent id or domain of run /,
    );
    await expect(reporter.markAgentComplete(first[1]!, "done")).rejects.toThrow(
      /^markAgentComplete: unknown agent "impl-fro-163000"/,
    );
    expect(JSON.stringify(reporter.executionState)).toBe(before);

    // A third run in that second, and an agent added to it then: none of the earlier ids either.
    const third = await ids(["backend"]);
    expect(third).toEqual(["impl-bac-163000-3"]);
    const added = await reporter.addAgents(["bacon"]);
    expect(added.map((agent) => agent.agentId)).toEqual(["impl-bac-163000-4"]);
    for (const id of [...first, ...second]) {
      await expect(reporter.updateAgentProgress(id, "in_progress", 1, 2)).rejects.toThrow(
        /^updateAgentProgress: unknown agent /,
      );
    }
    await reporter.close();
  });

  it("give an agent added to the new run in that second no id of the replaced run either", async () => {
    const fs = createFsFromVolume(Volume.fromJSON({ "/epic/.keep": "" }));
    const at = Date.parse("2026-01-01T16:30:00.000Z");
    const reporter = createParallelReporter("/epic", { fs, clock: { now: () => at }, env: {} });
    const first = await reporter.initializeParallelTracking("L2", ["a", "b"]);
    expect(first.map((agent) => agent.agentId)).toEqual(["impl-a-163000", "impl-b-163000"]);
    await reporter.initializeParallelTracking("L2", ["c"], undefined, { force: true });
    const added = await reporter.addAgents(["a"]);
    expect(added).toEqual([{ agentId: "impl-a-163000-2", domain: "a" }]);

    const before = JSON.stringify(reporter.executionState);
    // The first run's agent a, still going, reports by the id that run gave it.
    await expect(reporter.updateAgentProgress("impl-a-163000", "in_progress", 1, 5)).rejects.toThrow(
      /^updateAgentProgress: unknown agent "impl-a-163000": expected an agent id or domain of run /,
    );
    expect(JSON.stringify(reporter.executionState)).toBe(before);
    await reporter.close();
  });
});
