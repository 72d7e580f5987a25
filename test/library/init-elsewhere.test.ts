import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { createParallelReporter } from "../../src/reporter.js";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const folder = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `pp-init-${name}-`));
  folders.push(dir);
  return dir;
};

const options = { env: {}, github: { syncEnabled: false } };

describe("initializeParallelTracking(epicId, domains, epicDir) in another directory", () => {
  it("refused there (its run is active), leaves the reporter in its own directory: later calls change its own run", async () => {
    const a = await folder("a");
    const b = await folder("b");
    await createParallelReporter(b, options).initializeParallelTracking("EPIC-B", ["backend"]);
    const reporter = createParallelReporter(a, options);
    await reporter.initializeParallelTracking("EPIC-A", ["backend"]);

    await expect(reporter.initializeParallelTracking("EPIC-B", ["backend"], b)).rejects.toThrow(
      /is still active here/,
    );
    expect(reporter.directory).toBe(a);
    await reporter.markAgentComplete("backend", "A's backend is done");

    const runA = await createParallelReporter(a, options).status();
    const runB = await createParallelReporter(b, options).status();
    expect([runA.epicId, runA.agents[0]?.status]).toEqual(["EPIC-A", "completed"]);
    expect([runB.epicId, runB.agents[0]?.status, runB.agents[0]?.summary]).toEqual([
      "EPIC-B",
      "pending",
      null,
    ]);
  });

  it("refused by its own checks, leaves the reporter where it was and writes nothing there", async () => {
    const a = await folder("a");
    const b = await folder("b");
    const reporter = createParallelReporter(a, options);
    await reporter.initializeParallelTracking("EA", ["x"]);

    await expect(reporter.initializeParallelTracking("EB", ["a", "a"], b)).rejects.toThrow(UsageError);
    expect(reporter.directory).toBe(a);
    await reporter.updateAgentProgress("x", "in_progress", 1, 2);
    expect((await reporter.status()).agents[0]?.filesCompleted).toBe(1);
    expect(await readdir(b)).toEqual([]);
  });

  it("started there, moves the reporter there", async () => {
    const a = await folder("a");
    const b = await folder("b");
    const reporter = createParallelReporter(a, options);
    await reporter.initializeParallelTracking("EA", ["x"]);

    await reporter.initializeParallelTracking("EB", ["y"], b);
    expect(reporter.directory).toBe(b);
    await reporter.markAgentComplete("y", "done");
    const runB = await createParallelReporter(b, options).status();
    expect([runB.epicId, runB.agents[0]?.status]).toEqual(["EB", "completed"]);
    expect((await createParallelReporter(a, options).status()).agents[0]?.status).toBe("pending");
    expect(existsSync(join(a, ".parallel-progress"))).toBe(true);
  });
});
