import { spawn } from "node:child_process";
import nodeFs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LockTimeoutError } from "../../src/errors.js";
import { tryLock, withLock } from "../../src/store/lock.js";
import type { FileSystem } from "../../src/util/io.js";
import { waitFor } from "../support/cli.js";

/** An mtime `ms` in the past: a holder that stopped refreshing that long ago. */
const age = (fs: FileSystem, path: string, ms: number) => {
  const then = new Date(Date.now() - ms);
  fs.utimesSync(path, then, then);
};

describe("withLock (mkdir lock)", () => {
  let dir = "";
  let lock = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-lock-"));
    lock = join(dir, "state.lock");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lets one holder in at a time, and removes the lock when done", async () => {
    let inside = 0;
    let most = 0;
    const holder = async (n: number) =>
      withLock(lock, { fs: nodeFs }, async () => {
        inside++;
        most = Math.max(most, inside);
        // Give the others a turn to try while this one holds the lock.
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        inside--;
        return n;
      });
    expect(await Promise.all(Array.from({ length: 12 }, (_, n) => holder(n)))).toEqual([...Array(12).keys()]);
    expect(most).toBe(1);
    expect(nodeFs.existsSync(lock)).toBe(false);
  });

  it("releases the lock when the work throws", async () => {
    await expect(
      withLock(lock, { fs: nodeFs }, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(nodeFs.existsSync(lock)).toBe(false);
  });

  it("gives up with LockTimeoutError while a fresh lock is held, leaving it alone", async () => {
    nodeFs.mkdirSync(lock);
    const error = await withLock(lock, { fs: nodeFs, waitMs: 0 }, () => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as Error).message).toContain(lock);
    expect(nodeFs.existsSync(lock)).toBe(true);
  });

  it("takes over a stale lock (its holder died)", async () => {
    nodeFs.mkdirSync(lock);
    age(nodeFs, lock, 10_000);
    expect(await withLock(lock, { fs: nodeFs, staleMs: 3000, waitMs: 0 }, () => "mine")).toBe("mine");
    expect(nodeFs.existsSync(`${lock}.takeover`)).toBe(false);
  });

  it("takes over a lock dated more than its staleness ahead of the clock (a holder killed before a clock step back)", async () => {
    nodeFs.mkdirSync(lock);
    age(nodeFs, lock, -10 * 60_000);
    expect(await withLock(lock, { fs: nodeFs, staleMs: 3000, waitMs: 0 }, () => "mine")).toBe("mine");
    // A takeover guard dated ahead too (a taker killed mid-takeover) is cleared the same way.
    nodeFs.mkdirSync(lock);
    nodeFs.mkdirSync(`${lock}.takeover`);
    age(nodeFs, lock, -10 * 60_000);
    age(nodeFs, `${lock}.takeover`, -10 * 60_000);
    expect(tryLock(nodeFs, lock, 3000)).toBe(false);
    expect(tryLock(nodeFs, lock, 3000)).toBe(true);
  });

  it("leaves a lock dated ahead of the clock by less than its staleness (a holder's clock a little ahead)", () => {
    nodeFs.mkdirSync(lock);
    age(nodeFs, lock, -2000);
    expect(tryLock(nodeFs, lock, 3000)).toBe(false);
  });

  it("leaves a stale lock to the taker that holds the takeover guard", () => {
    nodeFs.mkdirSync(lock);
    age(nodeFs, lock, 10_000);
    nodeFs.mkdirSync(`${lock}.takeover`);
    expect(tryLock(nodeFs, lock, 3000)).toBe(false);
    expect(nodeFs.existsSync(lock)).toBe(true);
  });

  it("clears a takeover guard left by a taker killed mid-takeover, then takes the lock", () => {
    nodeFs.mkdirSync(lock);
    age(nodeFs, lock, 10_000);
    nodeFs.mkdirSync(`${lock}.takeover`);
    age(nodeFs, `${lock}.takeover`, 10_000);
    expect(tryLock(nodeFs, lock, 3000)).toBe(false);
    expect(tryLock(nodeFs, lock, 3000)).toBe(true);
  });

  it("throws ENOENT when the lock's folder is missing (the store makes it then)", () => {
    expect(() => tryLock(nodeFs, join(dir, "missing", "state.lock"), 3000)).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
  });

  it("keeps its lock fresh while the work runs, so a slow holder is not taken for a dead one", async () => {
    const refreshed = await withLock(lock, { fs: nodeFs, staleMs: 300 }, async () => {
      age(nodeFs, lock, 10_000);
      return waitFor(() => Date.now() - nodeFs.statSync(lock).mtimeMs < 300, 5_000, 10);
    });
    expect(refreshed).toBe(true);
  });

  it("leaves the lock folder to the process that took it over from a stalled holder", async () => {
    const seen = await withLock(lock, { fs: nodeFs, staleMs: 300 }, (stillHeld) => {
      const before = stillHeld();
      // Another process took the stale lock over: removed it, made its own.
      nodeFs.rmdirSync(lock);
      nodeFs.mkdirSync(lock);
      return [before, stillHeld()];
    });
    expect(seen).toEqual([true, false]);
    expect(nodeFs.existsSync(lock)).toBe(true);
    nodeFs.rmdirSync(lock);
  });

  it("is taken over once stale after its holder is killed with SIGKILL", async () => {
    const holder = `
      import { withLock } from ${JSON.stringify(join(process.cwd(), "dist/lib/store/lock.js"))};
      import fs from "node:fs";
      await withLock(${JSON.stringify(lock)}, { fs, staleMs: 300 }, async () => {
        process.stdout.write("held\\n");
        await new Promise(() => setInterval(() => undefined, 1000));
      });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", holder]);
    const exited = new Promise((resolve) => child.on("exit", resolve));
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    expect(await waitFor(() => out.includes("held"), 10_000, 10)).toBe(true);
    child.kill("SIGKILL");
    await exited;
    expect(await withLock(lock, { fs: nodeFs, staleMs: 300, waitMs: 10_000 }, () => "taken")).toBe("taken");
  });
});

describe("withLock on memfs", () => {
  it("locks, releases and takes over a stale lock on an injected file system", async () => {
    const fs = createFsFromVolume(Volume.fromJSON({ "/epic/.keep": "" })) as unknown as FileSystem;
    expect(await withLock("/epic/state.lock", { fs }, () => 1)).toBe(1);
    expect(fs.existsSync("/epic/state.lock")).toBe(false);
    fs.mkdirSync("/epic/state.lock");
    age(fs, "/epic/state.lock", 10_000);
    expect(await withLock("/epic/state.lock", { fs, waitMs: 0 }, () => 2)).toBe(2);
  });
});
