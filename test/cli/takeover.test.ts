import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SyncState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { LATE_LANDING_MS } from "../../src/sync/timings.js";
import { nodeFileSystem } from "../../src/util/node-fs.js";
import { flusherPids, spawnCli, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const fakeGitHub = useFakeGitHub("ghp_takeovercli0123456789abcdefghijklmno");

describe("a writer killed with SIGKILL mid-write (issue 11, item 1)", () => {
  // The lease's real 15 s expiry (and the late-landing margin after it) is waited for once, in-process
  // with the injected clock: test/sync/takeover.test.ts. Here the lease is aged in the store, as time
  // passing would, and the background writer, woken by that change, takes over.
  it("is taken over when its lease expires; the issue ends showing the run's latest state", async () => {
    const { gh, dir, env, cli } = await fakeGitHub({
      task: null,
      fake: { repos: ["o/r"], issues: [{ repo: "o/r", number: 67 }] },
    });
    const state = async () => JSON.parse(await readFile(join(dir, ".parallel-progress/state.json"), "utf8"));
    /** Time passing for the run's sync state, written through the store (its watchers wake up). */
    const age = (change: (sync: SyncState, now: number) => Partial<SyncState>) =>
      new FileRunStore(nodeFileSystem(), dir).transact((current, now) => ({
        next: { ...current!, sync: { ...current!.sync, ...change(current!.sync, now) } },
        result: null,
      }));
    const onIssue = () => parseMarker(gh.comments("o/r", 67)[0]?.body ?? "")?.seq;
    expect(
      (await cli("init", "--epic", "L", "--domains", "a,b", "--issue", "67", "--repo", "o/r")).code,
    ).toBe(0);
    expect(onIssue()).toBe(1);
    // The next write falls due (its 1 s spacing, passed in the store); the writer of seq 2 meets a slow
    // GitHub and is killed.
    await age((sync, now) => ({
      lastWriteAt: now - sync.lastWriteAt < 1000 ? now - 1000 : sync.lastWriteAt,
    }));
    gh.setFaults({ latencyMs: 3000 });
    const killed = spawnCli(["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir], {
      env,
    });
    expect(await waitFor(() => gh.delayed === 1, 10_000, 10)).toBe(true);
    killed.child.kill("SIGKILL");
    expect((await killed.done).signal).toBe("SIGKILL");
    gh.setFaults({ latencyMs: 0 });
    expect((await cli("update", "b", "--status", "in_progress", "--files", "1/2")).code).toBe(0);

    // The killed writer's lease stands until it expires (this fake drops a request whose client died;
    // test/sync/takeover.test.ts has its edit land late): the run is at seq 3, the issue still at 1.
    const held = await state();
    expect(held.seq).toBe(3);
    expect(held.sync.lease).not.toBeNull();
    expect(onIssue()).toBe(1);
    expect(await flusherPids(dir)).toHaveLength(1);
    // The lease expires (past the late-landing margin too): the background writer takes over and the
    // issue reaches seq 3 to stay.
    await age((sync, now) => ({ lease: { ...sync.lease!, expiresAt: now - LATE_LANDING_MS - 1 } }));
    expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 40_000, 100)).toBe(true);
    const after = await state();
    expect(onIssue()).toBe(3);
    expect(after.sync).toMatchObject({ postedSeq: 3, lease: null, flusher: null, settleUntil: 0 });
    expect(gh.comments("o/r", 67)).toHaveLength(1);
    const status = await cli("status");
    expect(status.stdout).toContain("up to date");
  }, 60_000);
});

describe("a background writer killed on this machine (a runner ending its job kills it)", () => {
  it("is seen gone by the next call, which starts a writer of its own: the issue catches up without another command", async () => {
    const { gh, cli } = await fakeGitHub({
      task: null,
      fake: { repos: ["o/r"], issues: [{ repo: "o/r", number: 68 }] },
    });
    const body = () => gh.comments("o/r", 68)[0]?.body ?? "";
    expect(
      (
        await cli(
          "init",
          "--epic",
          "K",
          "--domains",
          "a,b",
          "--issue",
          "68",
          "--repo",
          "o/r",
          "--min-interval",
          "5000",
        )
      ).code,
    ).toBe(0);
    // Within the write interval: left to a background writer, which is killed at once.
    const first = await cli("update", "a", "--status", "in_progress", "--files", "1/4", "-v");
    const pid = Number(/background writer started \(pid (\d+)\)/.exec(first.stderr)?.[1]);
    expect(pid, first.stderr).toBeGreaterThan(0);
    process.kill(pid, "SIGKILL");
    expect(await waitFor(() => !alive(pid), 10_000, 10)).toBe(true);
    // The next call does not trust the dead writer's claim.
    const second = await cli("update", "b", "--status", "in_progress", "--files", "3/4", "-v");
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/background writer started \(pid \d+\)/);
    expect(await waitFor(() => body().includes("3/4") && body().includes("1/4"), 20_000, 50)).toBe(true);
  }, 40_000);
});

/** Whether process `pid` is alive (a zombie of ours counts as gone once reaped; the CLI's child is not ours). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
