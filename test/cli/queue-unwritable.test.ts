import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queueFiles, runCli, stopFlushers } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

/**
 * GitHub down and a queue folder that cannot take a file (a full disk, a read-only mount): `retry` exits 3
 * all the same while the issue lacks the run's latest state and final summary, so that a script running
 * it until it exits 0 does not stop before they are on the issue. It had exited 0: it counted only the
 * files in the queue. The warning names what to fix for the error met.
 */

const fakeGitHub = useFakeGitHub("ghp_unwritable0123456789abcdefghijklmno");

/** A preload that fails every file written into the queue folder with `code`, as the disk would. */
const REFUSE_QUEUE = `
const fs = require("node:fs");
for (const name of (process.env.QUEUE_CALLS ?? "writeFile,link").split(",")) {
  const real = fs.promises[name];
  fs.promises[name] = (path, ...rest) =>
    String(path).includes(".github_parallel_queue")
      ? Promise.reject(Object.assign(new Error(process.env.QUEUE_ERROR + ": refused, " + name), { code: process.env.QUEUE_ERROR }))
      : real.call(fs.promises, path, ...rest);
}
`;

/**
 * Runs the CLI in `dir` with the queue folder's writes failing with `code` (REFUSE_QUEUE preloaded; `extra`:
 * its settings, such as QUEUE_CALLS).
 */
async function refusingQueue(
  dir: string,
  env: Record<string, string>,
  code: string,
  extra: Record<string, string> = {},
): Promise<(...args: string[]) => ReturnType<typeof runCli>> {
  const preload = join(dir, "refuse-queue.cjs");
  await writeFile(preload, REFUSE_QUEUE);
  const refusing = { ...env, ...extra, NODE_OPTIONS: `--require ${preload}`, QUEUE_ERROR: code };
  return (...args) => runCli([...args, "--dir", dir], { env: refusing });
}

describe("retry while the queue folder cannot be written", () => {
  it.each([
    ["ENOSPC", "its disk is full: free space on it"],
    ["EROFS", "its file system is mounted read-only: mount it writable"],
  ])("%s: exits 3 while the issue lacks the final summary, and says what to fix", async (code, fix) => {
    const { gh, dir, env, cli } = await fakeGitHub();
    expect((await cli("init", "--epic", "RX", "--domains", "a")).code).toBe(0);
    const refused = await refusingQueue(dir, env, code);
    gh.setFaults({ down: true });
    expect((await refused("complete", "a")).code).toBe(0);
    const finalize = await refused("finalize", "--summary", "merged");
    expect(finalize.code).toBe(0);
    expect(finalize.stderr).toContain(`cannot be written (${code}): a post was not queued`);
    expect(finalize.stderr).toContain(fix);

    const retry = await refused("retry");
    expect(retry.stderr).toContain(`(${code})`);
    expect(retry.stderr).toContain(fix);
    expect(retry.code).toBe(3);
    expect((await refused("retry", "--dry-run")).code).toBe(3);
    expect(await queueFiles(dir)).toEqual([]);

    // GitHub back: the retry posts what the run state held, and is done.
    gh.clearFaults();
    const done = await refused("retry");
    expect(done.code, done.stderr).toBe(0);
    expect(gh.comments("acme/widgets", 123).some((c) => c.body.includes("merged"))).toBe(true);
  });
});

describe("retry when a delivered entry cannot be removed from the queue folder", () => {
  // A queue folder made read-only (chmod 555, a read-only mount) after an entry was queued: the entry stays,
  // though the issue shows what it held. It had been counted as remaining by retry (exit 3 for ever) and
  // finalize, while the dry run listed it as delivered and status as up to date.
  it.each([
    ["EACCES", "fix the folder's owner or mode"],
    ["EROFS", "its file system is mounted read-only: mount it writable"],
  ])("%s: the entry counts as delivered, retry exits 0, and all agree", async (code, fix) => {
    const { gh, dir, env, cli } = await fakeGitHub();
    expect((await cli("init", "--epic", "RX", "--domains", "a", "--min-interval", "0")).code).toBe(0);
    gh.setFaults({ down: true });
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/4")).code).toBe(0);
    expect(await queueFiles(dir)).toHaveLength(1);
    await stopFlushers(dir);
    const refused = await refusingQueue(dir, env, code, { QUEUE_CALLS: "writeFile,link,rm,rename" });
    expect((await refused("finalize", "--summary", "merged")).code).toBe(0);
    await stopFlushers(dir);

    gh.clearFaults();
    const first = await refused("retry", "-v");
    expect(first.stderr).toContain(`(${code}): a delivered entry could not be removed`);
    expect(first.stderr).toContain(fix);
    expect(first.stderr).not.toContain("remain to be sent");
    expect(first.code, first.stderr).toBe(0);
    expect(gh.comments("acme/widgets", 123).some((c) => c.body.includes("merged"))).toBe(true);
    expect(await queueFiles(dir)).toHaveLength(1);

    const again = await refused("retry");
    expect(again.code, again.stderr).toBe(0);
    const dry = await refused("retry", "--dry-run");
    expect(dry.stdout).toContain("\tdelivered\t");
    expect(dry.code).toBe(0);
    const finalize = await refused("finalize");
    expect(finalize.code).toBe(0);
    expect(finalize.stderr).not.toContain("remain to be sent");
    const status = await refused("status", "--json");
    expect(JSON.parse(status.stdout).sync.queued).toBe(0);
  });
});
