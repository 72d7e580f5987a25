import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError, StoreUnavailableError } from "../../src/errors.js";
import type { IssueComment, RepoRef } from "../../src/github/types.js";
import { applyProgress } from "../../src/model/run.js";
import { FileRunStore } from "../../src/store/file-store.js";
import type { RunStore } from "../../src/store/types.js";
import { RunSyncer } from "../../src/sync/run-syncer.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";
import { syncDeps, syncedRun } from "./fixtures.js";

/**
 * A write whose outcome the store could not record (the database connection broke, or the statement was
 * cancelled, right after GitHub took the request): found by the chaos test (test/cli/pg-chaos.test.ts),
 * where the next machine's write reached GitHub 420 ms after it.
 */

/** A client that applies a write `latencyMs` into the request (on the test's clock), noting when. */
class SlowClient extends MemoryClient {
  latencyMs = 0;
  readonly writes: number[] = [];
  constructor(private readonly clock: { now: () => number; advance: (ms: number) => void }) {
    super();
  }
  private land(): void {
    this.clock.advance(this.latencyMs);
    this.writes.push(this.clock.now());
  }
  override async createComment(repo: RepoRef, issue: number, body: string): Promise<IssueComment> {
    this.land();
    return super.createComment(repo, issue, body);
  }
  override async updateComment(repo: RepoRef, id: number, body: string): Promise<IssueComment> {
    this.land();
    return super.updateComment(repo, id, body);
  }
}

/**
 * A run with its progress comment posted, on a store that fails the next `failing.count` transactions
 * once a request has reached GitHub (set `failing.afterWrite`), and a client whose writes land
 * `client.latencyMs` into the request.
 */
async function setup() {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  let now = Date.parse("2026-02-01T12:00:00Z");
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const store = new FileRunStore(fs, "/epic", { clock });
  const client = new SlowClient(clock);
  const failing = { afterWrite: 0, count: 0 };
  const original = client.updateComment.bind(client);
  client.updateComment = async (repo, id, body) => {
    const written = await original(repo, id, body);
    failing.count = failing.afterWrite;
    failing.afterWrite = 0;
    return written;
  };
  const flaky: RunStore = {
    location: store.location,
    read: () => store.read(),
    transact: (change) => {
      if (failing.count > 0) {
        failing.count--;
        return Promise.reject(new StoreUnavailableError("the database is not answering"));
      }
      return store.transact(change);
    },
    subscribe: (listener) => store.subscribe(listener),
    close: () => store.close(),
  };
  const deps = (owner: string, runStore: RunStore = flaky) =>
    syncDeps({ fs, clock, advance: clock.advance, client, store: runStore, owner });
  await store.transact(() => ({
    next: { ...syncedRun(), startedAt: new Date(now).toISOString() },
    result: 0,
  }));
  expect((await new RunSyncer(deps("first")).step()).kind).toBe("wrote");
  now += 5000;
  const bump = (files: number) =>
    store.transact((s, at) => ({
      next: applyProgress(s!, "a", { status: "in_progress", filesCompleted: files, filesTotal: 3 }, at),
      result: 0,
    }));
  const gaps = () => client.writes.slice(1).map((at, i) => at - client.writes[i]!);
  return { store, client, failing, deps, bump, gaps, clock };
}

describe("a write the store could not record", () => {
  it("counts the write interval from its release: the next writer keeps 1 s from the request", async () => {
    const { store, client, failing, deps, bump, gaps, clock } = await setup();
    await bump(1);
    // A's edit reaches GitHub 900 ms into its request; then the store fails as A records it.
    client.latencyMs = 900;
    failing.afterWrite = 1;
    await expect(new RunSyncer(deps("A")).step()).rejects.toThrow(StoreUnavailableError);

    // B, 100 ms after A's edit landed (1 s after A's claim), waits out the interval from A's release.
    clock.advance(100);
    await bump(2);
    client.latencyMs = 0;
    const b = new RunSyncer(deps("B"));
    expect(await b.step()).toMatchObject({ kind: "none", decision: { kind: "wait" } });
    await b.flush({ deadline: clock.now() + 5000 });
    expect(gaps()).toHaveLength(2);
    expect(Math.min(...gaps())).toBeGreaterThanOrEqual(1000);
    expect((await store.read())!.sync.lease).toBeNull();
  });

  it("keeps the interval in the syncer that wrote when the store could not release its lease either", async () => {
    const { store, client, failing, deps, bump, gaps, clock } = await setup();
    await bump(1);
    // The database goes away as A records its write, and A's release fails too: the lease stays A's, the
    // run's lastWriteAt at A's claim, 900 ms before the edit landed.
    client.latencyMs = 900;
    failing.afterWrite = 2;
    const a = new RunSyncer(deps("A"));
    await expect(a.step()).rejects.toThrow(StoreUnavailableError);
    expect((await store.read())!.sync.lease?.owner).toBe("A");

    // The database is back 100 ms later. The same reporter's next call (a syncer of its own token, the
    // reporter's request times) waits for A's lease; A writes on (the next step of its flush).
    clock.advance(100);
    await bump(2);
    client.latencyMs = 0;
    const next = new RunSyncer(deps("A2"), a.requests);
    expect(await next.step()).toMatchObject({ kind: "none", decision: { kind: "busy" } });
    expect((await a.step()).kind).toBe("wrote");
    expect(gaps()).toHaveLength(2);
    expect(Math.min(...gaps())).toBeGreaterThanOrEqual(1000);
  });

  it("releases the lease when a write GitHub refused cannot be recorded either", async () => {
    const { store, client, failing, deps, bump, clock } = await setup();
    await bump(1);
    // GitHub answers 502 after 300 ms (the edit may or may not have landed), and the store fails as A
    // records that.
    client.updateComment = async () => {
      clock.advance(300);
      failing.count = 1;
      throw new GitHubError("GitHub answered 502", { kind: "server", status: 502, outcomeUnknown: true });
    };
    await expect(new RunSyncer(deps("A")).step()).rejects.toThrow(StoreUnavailableError);
    // The post is queued, and the lease is free for the next writer, the interval counted from the release.
    expect((await deps("B").queue.list()).entries.map((entry) => entry.item.kind)).toEqual(["progress"]);
    const { lease, lastWriteAt } = (await store.read())!.sync;
    expect(lease).toBeNull();
    expect(lastWriteAt).toBe(clock.now());
  });
});
