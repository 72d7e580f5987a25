import { createFsFromVolume, Volume } from "memfs";
import { afterEach, describe, expect, it } from "vitest";
import { createOctokitClient } from "../../src/github/octokit-client.js";
import { applyProgress, createRun } from "../../src/model/run.js";
import { toStatusView } from "../../src/model/status-view.js";
import { parseMarker } from "../../src/render/marker.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import { RunSyncer } from "../../src/sync/run-syncer.js";
import { LATE_LANDING_MS } from "../../src/sync/timings.js";
import type { FileSystem } from "../../src/util/io.js";
import { type FakeGitHub, startFakeGitHub } from "../support/fake-github/index.js";
import { syncDeps } from "./fixtures.js";

const TOKEN = "ghp_takeovertoken0123456789abcdefghijklmn";

/** Waits for `condition`, checking every 10 ms, at most `ms`. */
async function until(condition: () => boolean, ms = 10_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return condition();
}

/** A store as a process that can be killed sees it: after `kill()` its transactions never return. */
function killable(store: RunStore): { store: RunStore; kill: () => void } {
  let dead = false;
  return {
    store: {
      location: store.location,
      read: () => store.read(),
      transact: (change) => (dead ? new Promise(() => undefined) : store.transact(change)),
      subscribe: (listener) => store.subscribe(listener),
      close: () => store.close(),
    },
    kill: () => {
      dead = true;
    },
  };
}

let gh: FakeGitHub | null = null;
afterEach(async () => {
  await gh?.close();
  gh = null;
});

describe("a killed writer's late edit (issue 11, item 1)", () => {
  it("does not win: the takeover writes again once the old holder's request can no longer land", async () => {
    gh = await startFakeGitHub({
      tokens: { [TOKEN]: "octo-bot" },
      issues: [{ repo: "o/r", number: 67 }],
      repos: ["o/r"],
    });
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    let now = Date.parse("2026-01-05T10:00:00Z");
    const clock = { now: () => now };
    const store = new FileRunStore(fs, "/epic", { clock });
    const client = createOctokitClient({ token: TOKEN, apiUrl: gh.url });
    const advance = (ms: number) => (now += ms);
    const deps = (owner: string, runStore: RunStore) =>
      syncDeps({ fs, clock, advance, client, store: runStore, owner });
    const github = {
      issueNumber: 67,
      repo: "o/r",
      apiUrl: gh.url,
      syncEnabled: true,
      commentMode: "edit" as const,
      minIntervalMs: 1000,
    };
    await store.transact((_s, at) => ({
      next: createRun({ epicId: "L", domains: ["a", "b"], now: at, github, nonce: "00" }),
      result: 0,
    }));
    const onIssue = () => parseMarker(gh!.comments("o/r", 67)[0]?.body ?? "")?.seq;
    const bump = (agent: string) =>
      store.transact((s, at) => ({
        next: applyProgress(s!, agent, { status: "in_progress", filesCompleted: 1, filesTotal: 2 }, at),
        result: 0,
      }));
    const agent = async (domain: string) =>
      Object.values((await store.read())!.agents).find((a) => a.domain === domain)!.agentId;

    // Process A writes the first state, then takes the lease for seq 2 on a slow GitHub and is killed.
    const a = killable(store);
    expect((await new RunSyncer(deps("A", a.store)).step()).kind).toBe("wrote");
    now += 1100;
    await bump(await agent("a"));
    gh.setFaults({ latencyMs: 800 });
    void new RunSyncer(deps("A", a.store)).step();
    expect(await until(() => gh!.delayed === 1)).toBe(true);
    a.kill();
    gh.setFaults({ latencyMs: 0 });

    // Process C changes the run: A's lease is busy until it expires, then C takes over and writes seq 3.
    now += 1000;
    await bump(await agent("b"));
    const c = new RunSyncer(deps("C", store));
    expect((await c.step()).kind).toBe("none");
    now += 15_000;
    expect(await c.step()).toMatchObject({ kind: "wrote" });
    expect(onIssue()).toBe(3);

    // A's request lands after C's write: the issue shows seq 2 although the run recorded seq 3 as posted.
    expect(await until(() => gh!.delayed === 0 && onIssue() === 2)).toBe(true);
    const settling = (await store.read())!;
    expect(settling.sync.postedSeq).toBe(3);
    // `status` does not call that up to date: it says when the comment is written again.
    expect(toStatusView(settling, now).sync.settleUntil).toMatch(/^2026-01-05T10:00:/);

    // Once A's request can no longer land, C writes again: the issue shows the truth.
    await c.flush({ deadline: now + LATE_LANDING_MS + 20_000 });
    expect(onIssue()).toBe(3);
    const after = (await store.read())!;
    expect(after.sync).toMatchObject({ postedSeq: 3, settleUntil: 0, lease: null });
    expect(toStatusView(after, now).sync.settleUntil).toBeNull();
    expect(gh.comments("o/r", 67)).toHaveLength(1);
  });
});
