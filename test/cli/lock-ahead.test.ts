import { mkdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeEpic, runCli } from "../support/cli.js";

/**
 * The run's lock folder dated 10 minutes ahead of the clock (its holder killed just before the clock
 * stepped back, or a folder copied from a machine whose clock is ahead) is taken over as a stale one is.
 * It was judged by its age alone, which is negative: every command waited 15 s and exited 1 (`could not
 * lock …/state.lock within 15000 ms`) until the clock passed it.
 */

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe("a run lock dated ahead of the clock", () => {
  it("is taken over: the command does its work at once", { timeout: 30_000 }, async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const { dir } = made;
    expect((await runCli(["init", "--epic", "LK", "--domains", "a", "--dir", dir])).code).toBe(0);
    const lock = join(dir, ".parallel-progress", "state.lock");
    await mkdir(lock);
    const ahead = new Date(Date.now() + 10 * 60_000);
    await utimes(lock, ahead, ahead);
    const update = await runCli(["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir]);
    expect(update.stderr).toBe("");
    expect(update.code).toBe(0);
    // At once: the lock is not waited for (15 s before giving up).
    expect(update.ms).toBeLessThan(10_000);
  });
});
