import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import type { IssueComment, RepoRef } from "../../src/github/types.js";
import { applyProgress, createRun } from "../../src/model/run.js";
import { parseMarker } from "../../src/render/marker.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { RunSyncer } from "../../src/sync/run-syncer.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";
import { syncDeps } from "./fixtures.js";

/** A client whose next update waits until the test releases it: a write that finishes late. */
class GatedClient extends MemoryClient {
  private gate: (() => Promise<void>) | null = null;
  /** Holds the next update until `release()`; `reached` settles once that update has started. */
  holdNextUpdate(): { release: () => void; reached: Promise<void> } {
    let release = () => {};
    let arrived = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    this.gate = () => {
      this.gate = null;
      arrived();
      return held;
    };
    return { release, reached };
  }
  override async updateComment(repo: RepoRef, id: number, body: string): Promise<IssueComment> {
    if (this.gate) await this.gate();
    return super.updateComment(repo, id, body);
  }
}

function setup() {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  let now = Date.parse("2025-10-19T16:30:00Z");
  const clock = { now: () => now };
  const store = new FileRunStore(fs, "/epic", { clock });
  const client = new GatedClient();
  const advance = (ms: number) => (now += ms);
  const deps = (owner: string) => syncDeps({ fs, clock, advance, client, store, owner, leaseMs: 5000 });
  const github = {
    issueNumber: 1,
    repo: "o/r",
    apiUrl: "http://127.0.0.1:1",
    syncEnabled: true,
    commentMode: "edit" as const,
    minIntervalMs: 1000,
  };
  return { store, client, deps, advance, clock, github };
}

const onIssueSeq = (client: MemoryClient) => parseMarker(client.comments[0]!.body)?.seq;

describe("RunSyncer", () => {
  it("takes a killed writer's lease over once it expires, not before", async () => {
    const { store, client, deps, advance, clock, github } = setup();
    await store.transact(() => ({
      next: createRun({ epicId: "E", domains: ["a"], now: clock.now(), github, nonce: "00" }),
      result: 0,
    }));
    const a = new RunSyncer(deps("A"));
    expect((await a.step()).kind).toBe("wrote");
    // B took the lease for the next write and was killed before finishing.
    advance(2000);
    await store.transact((s, now) => ({
      next: { ...s!, seq: s!.seq + 1, sync: { ...s!.sync, lease: { owner: "B", expiresAt: now + 5000 } } },
      result: 0,
    }));
    const c = new RunSyncer(deps("C"));
    expect(await c.step()).toEqual({
      kind: "none",
      decision: { kind: "busy", until: clock.now() + 5000 },
      now: clock.now(),
    });
    advance(5000);
    const result = await c.step();
    expect(result.kind).toBe("wrote");
    expect(onIssueSeq(client)).toBe(2);
  });

  it("never leaves an older body on the issue when writes finish out of order", async () => {
    const { store, client, deps, advance, clock, github } = setup();
    await store.transact(() => ({
      next: createRun({ epicId: "E", domains: ["a"], now: clock.now(), github, nonce: "00" }),
      result: 0,
    }));
    const slow = new RunSyncer(deps("slow"));
    const fast = new RunSyncer(deps("fast"));
    await slow.step(); // creates the comment (seq 1)
    advance(2000);
    await store.transact((s) => ({
      next: applyProgress(s!, "a", { status: "in_progress", filesCompleted: 1, filesTotal: 3 }, clock.now()),
      result: 0,
    }));
    const { release, reached } = client.holdNextUpdate();
    const slowWrite = slow.step(); // seq 2, hangs past its lease
    await reached;
    advance(6000); // the lease (5 s) has run out
    await store.transact((s) => ({
      next: applyProgress(s!, "a", { status: "in_progress", filesCompleted: 2, filesTotal: 3 }, clock.now()),
      result: 0,
    }));
    expect((await fast.step()).kind).toBe("wrote"); // seq 3 lands first
    expect(onIssueSeq(client)).toBe(3);
    release();
    await slowWrite; // seq 2 lands last: the issue now shows an older state...
    expect(onIssueSeq(client)).toBe(2);
    // ...which the record noticed: the run is dirty again, and the next write restores the latest.
    const state = await store.read();
    expect(state!.sync.postedSeq).toBeLessThan(state!.seq);
    advance(2000);
    await fast.flush({ deadline: clock.now() + 10_000 });
    expect(onIssueSeq(client)).toBe(3);
    expect(client.comments[0]!.body).toContain("| a | impl-a-163000 | 🔄 In Progress | 2/3 | 67% |");
  });
});
