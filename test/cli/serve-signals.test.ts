import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runServe } from "../../src/cli/serve-run.js";
import { createRun } from "../../src/model/run.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { nodeFileSystem } from "../../src/util/node-fs.js";
import { GITHUB_TARGET } from "../render/fixtures.js";

it("serve --exit-on-finalize leaves no signal listener behind when it stops (in-process)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pp-serve-"));
  try {
    const run = createRun({ epicId: "E", domains: ["a"], now: 0, github: GITHUB_TARGET, nonce: "00" });
    await new FileRunStore(nodeFileSystem(), dir).transact(() => ({
      next: { ...run, completedAt: new Date(1000).toISOString() },
      result: undefined,
    }));
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write; // `listening <url>`
    try {
      expect(await runServe({ dir, port: 0, host: "127.0.0.1", exitOnFinalize: true, quiet: true })).toBe(0);
    } finally {
      process.stdout.write = write;
    }
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual(before);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
