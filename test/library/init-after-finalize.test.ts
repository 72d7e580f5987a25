import nodeFs from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { createParallelReporter } from "../../src/reporter.js";
import type { FileSystem } from "../../src/util/io.js";
import { waitFor } from "../support/cli.js";
import { GatedClient } from "../support/gated-client.js";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

describe("init after a finalize that has not reached the issue yet", () => {
  /**
   * A run E1 finalized by a first reporter whose edit of the progress comment waits at GitHub (its final
   * summary would come next), and a second reporter of the same directory (with `fs`, if given).
   */
  async function finalizeHeld(fs?: FileSystem) {
    const dir = await mkdtemp(join(tmpdir(), "pp-init-after-"));
    folders.push(dir);
    const client = new GatedClient("updateComment");
    const github = { issueNumber: 5, repo: "o/r", minIntervalMs: 0 };
    const first = createParallelReporter(dir, { env: {}, client, github });
    const second = createParallelReporter(dir, { env: {}, client, github, ...(fs ? { fs } : {}) });
    await first.initializeParallelTracking("E1", ["a"]);
    await first.markAgentComplete("a", "done");
    await first.flush();
    const oldRun = first.executionState!.runId;
    client.close();
    const finalizing = first.finalizeParallelExecution("merged E1");
    expect(await waitFor(() => client.waiting > 0, 10_000)).toBe(true);
    return { dir, client, first, second, oldRun, finalizing };
  }

  it("queues the replaced run's final summary: a retry posts it once, nothing is lost", async () => {
    const { dir, client, first, second, oldRun, finalizing } = await finalizeHeld();
    const warnings: string[] = [];
    second.on("warning", (message: string) => warnings.push(message));
    // Meanwhile the next run starts in the same directory (the old one is finalized: no --force needed).
    await second.initializeParallelTracking("E2", ["b"]);
    client.open();
    await finalizing;

    expect(warnings).toContainEqual(
      `run ${oldRun} was replaced by a new run before the issue showed all of it (its final summary): queued; \`parallel-progress retry\` sends it`,
    );
    const queued = await Promise.all(
      (await readdir(join(dir, ".github_parallel_queue")))
        .filter((name) => name.endsWith(".json"))
        .map(async (name) => JSON.parse(await readFile(join(dir, ".github_parallel_queue", name), "utf8"))),
    );
    expect(queued.filter((item) => item.run_id === oldRun).map((item) => item.kind)).toContain("final");

    await second.retryOfflineQueue();
    const finals = client.comments.map((c) => parseMarker(c.body)).filter((m) => m?.kind === "final");
    expect(finals).toEqual([{ kind: "final", runId: oldRun, seq: null }]);
    expect(client.comments.find((c) => parseMarker(c.body)?.kind === "final")!.body).toContain("merged E1");
    await first.close();
    await second.close();
  });

  it("a refused init queues nothing and says nothing of a replacement (a name holding a secret)", async () => {
    const { dir, client, first, oldRun, finalizing } = await finalizeHeld();
    const token = "s3cret-token-0123456789";
    const github = { issueNumber: 5, repo: "o/r", minIntervalMs: 0 };
    const third = createParallelReporter(dir, { env: { GITHUB_TOKEN: token }, client, github });
    const warnings: string[] = [];
    third.on("warning", (message: string) => warnings.push(message));
    await expect(third.initializeParallelTracking(`E-${token}`, ["b"])).rejects.toMatchObject({
      name: "UsageError",
      message: expect.stringContaining("initializeParallelTracking: epicId: a name may not hold"),
    });
    expect(warnings).toEqual([]);
    expect(await readdir(join(dir, ".github_parallel_queue")).catch(() => [])).toEqual([]);
    const state = JSON.parse(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8"));
    expect(state.runId).toBe(oldRun);
    client.open();
    await finalizing;
    await first.close();
    await third.close();
  });

  it("refuses to replace the run when the queue folder cannot keep its final summary (the run untouched)", async () => {
    // A queue folder this process may not write (another user's, a read-only mount).
    const denied = (path: unknown) => String(path).includes(".github_parallel_queue");
    const refuse = () => Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
    const promises = new Proxy(nodeFs.promises, {
      get: (target, key) => {
        const method = Reflect.get(target, key);
        if (!["writeFile", "mkdir", "link"].includes(String(key))) return method;
        return (path: unknown, ...rest: unknown[]) =>
          denied(path) ? Promise.reject(refuse()) : method.call(target, path, ...rest);
      },
    });
    const fs = new Proxy(nodeFs, {
      get: (target, key) => (key === "promises" ? promises : Reflect.get(target, key)),
    });
    const { dir, client, first, second, oldRun, finalizing } = await finalizeHeld(fs);

    await expect(second.initializeParallelTracking("E2", ["b"])).rejects.toMatchObject({
      name: "QueueUnwritableError",
      message: expect.stringContaining(`run ${oldRun} was finalized but the issue lacks some of it`),
    });
    const state = JSON.parse(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8"));
    expect(state.runId).toBe(oldRun);
    client.open();
    await finalizing;
    await first.close();
    await second.close();
  });
});
