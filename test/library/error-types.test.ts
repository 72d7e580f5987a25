import nodeFs from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  createParallelReporter,
  createPostgresStore,
  LockTimeoutError,
  StoreConfigError,
  StoreUnavailableError,
  UnreadableStateError,
  UsageError,
} from "../../src/index.js";
import { withLock } from "../../src/store/lock.js";
import { postgresUnavailable, SUPERUSER_PASSWORD, sharedPostgres } from "../support/postgres.js";

/** The library's error classes, as a caller imports them from the package, told apart by instanceof. */

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe("the exported error types", () => {
  it("a run state that cannot be read rejects with UnreadableStateError, a UsageError naming the problem", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-errors-"));
    folders.push(dir);
    await mkdir(join(dir, ".parallel-progress"));
    await writeFile(join(dir, ".parallel-progress", "state.json"), "{ not json");
    const reporter = createParallelReporter(dir, { env: {} });
    try {
      const status = reporter.status();
      await expect(status).rejects.toBeInstanceOf(UnreadableStateError);
      await expect(status).rejects.toBeInstanceOf(UsageError);
      await expect(status).rejects.toMatchObject({
        name: "UnreadableStateError",
        problem: expect.stringMatching(/state\.json/),
      });
    } finally {
      await reporter.close();
    }
  });

  it("a change while another process holds the run's file lock all along rejects with LockTimeoutError after 15 s", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-errors-"));
    folders.push(dir);
    const reporter = createParallelReporter(dir, { env: {} });
    try {
      const [agent] = await reporter.initializeParallelTracking("E", ["a"]);
      const before = await reporter.load();
      // Held as a live holder holds it (refreshed, so never taken over as a dead one's) until released.
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let held = false;
      const holder = withLock(join(dir, ".parallel-progress", "state.lock"), { fs: nodeFs }, () => {
        held = true;
        return released;
      });
      expect(held).toBe(true);
      const change = reporter.updateAgentProgress(agent!.agentId, "in_progress", 1, 2);
      try {
        await expect(change).rejects.toBeInstanceOf(LockTimeoutError);
        await expect(change).rejects.not.toBeInstanceOf(StoreUnavailableError);
        await expect(change).rejects.toThrow(/could not lock .*state\.lock within 15000 ms/);
      } finally {
        release();
        await holder;
      }
      expect(await reporter.load()).toEqual(before);
    } finally {
      await reporter.close();
    }
  }, 30_000);

  it.skipIf(postgresUnavailable())(
    "a database store set up wrongly (a wrong password) rejects with StoreConfigError, a UsageError",
    async () => {
      const { url } = await sharedPostgres().createDatabase("errors");
      const wrong = url.replace(SUPERUSER_PASSWORD, "not-the-password");
      expect(wrong).not.toBe(url);
      const dir = await mkdtemp(join(tmpdir(), "pp-errors-"));
      folders.push(dir);
      const store = createPostgresStore({ url: wrong, epicId: "E-ERR" });
      const reporter = createParallelReporter(dir, { env: {}, store });
      try {
        const status = reporter.status();
        await expect(status).rejects.toBeInstanceOf(StoreConfigError);
        await expect(status).rejects.toBeInstanceOf(UsageError);
        await expect(status).rejects.not.toThrow(/not-the-password/);
      } finally {
        await reporter.close();
        await store.close();
      }
    },
  );
});
