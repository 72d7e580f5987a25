import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../src/errors.js";
import type { RunState, SyncState } from "../../src/model/types.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { recordedFailure, recordedWrite, recordFailure, recordWrite } from "../../src/sync/record.js";
import { UNANSWERED_WINDOW_MS } from "../../src/sync/timings.js";
import type { FileSystem } from "../../src/util/io.js";
import { syncedRun } from "./fixtures.js";

const run = (sync: Partial<SyncState> = {}, seq = 1): RunState => {
  const state = syncedRun();
  return { ...state, seq, sync: { ...state.sync, ...sync } };
};

const comment = { commentId: 7, url: "https://x/7", viewer: "bot", viewerId: 41 };

describe("recordedWrite", () => {
  it("releases the lease, clears the failures and counts the posted state", () => {
    const current = run({
      lease: { owner: "me", expiresAt: 9000 },
      consecutiveFailures: 2,
      backoffUntil: 8000,
      lastError: "boom",
      lastWriteAt: 1000,
    });
    const sync = recordedWrite(current, current, "progress", 1000, comment, "me", 2000);
    expect(sync).toMatchObject({
      lease: null,
      consecutiveFailures: 0,
      backoffUntil: 0,
      lastError: null,
      lastWriteAt: 2000,
      commentId: 7,
      commentUrl: "https://x/7",
      postedSeq: 1,
      viewer: "bot",
      viewerId: 41,
    });
  });

  it("counts the older body as posted when another writer started after it", () => {
    const current = run({ lastWriteAt: 3000, postedSeq: 3 }, 4);
    const written = run({}, 2);
    expect(recordedWrite(current, written, "progress", 1000, comment, "me", 4000).postedSeq).toBe(2);
  });

  it("records the final summary, and ends the settling once written after it", () => {
    const current = run({ settleUntil: 1500, lastWriteAt: 2000 });
    expect(recordedWrite(current, current, "final", 2000, comment, "me", 2500)).toMatchObject({
      finalCommentId: 7,
      finalCommentUrl: "https://x/7",
      settleUntil: 1500,
    });
    expect(recordedWrite(current, current, "progress", 2000, comment, "me", 2500).settleUntil).toBe(0);
  });
});

describe("recordedFailure", () => {
  const error = { kind: "server", message: "502", transient: true } as const;

  it("backs off, and follows GitHub's retry-after and rate limit", () => {
    const current = run({ lease: { owner: "me", expiresAt: 9000 }, consecutiveFailures: 1 });
    const failure = { step: "progress", error, retryAt: null, unanswered: null } as const;
    const sync = recordedFailure(current, failure, "me", 1000);
    expect(sync).toMatchObject({ lease: null, consecutiveFailures: 2, lastWriteAt: 1000, lastError: "502" });
    expect(sync.backoffUntil).toBeGreaterThan(1000);
    const limited = { ...failure, error: { ...error, kind: "rate-limited" }, retryAt: 50_000 } as const;
    expect(recordedFailure(current, limited, "me", 1000)).toMatchObject({
      backoffUntil: 50_000,
      rateLimitedUntil: 50_000,
    });
  });

  it("after an unanswered request: repeats an edit after the window, holds creates until it ends", () => {
    const current = run();
    const edit = recordedFailure(
      current,
      { step: "progress", error, retryAt: null, unanswered: "edit" },
      "me",
      1000,
    );
    expect(edit.settleUntil).toBe(1000 + UNANSWERED_WINDOW_MS);
    const create = recordedFailure(
      current,
      { step: "final", error, retryAt: null, unanswered: "create" },
      "me",
      1000,
    );
    expect(create.unsureCreate).toEqual({ kind: "final", until: 1000 + UNANSWERED_WINDOW_MS });
    expect(create.backoffUntil).toBe(1000 + UNANSWERED_WINDOW_MS);
  });
});

describe("recordWrite", () => {
  /**
   * Records a write of seq 1 that started at 1000 while a change (seq 2) came in, on a run whose writes
   * are `minIntervalMs` apart; resolves to whether a background writer was claimed and started for it.
   */
  async function writerStartedAfter(minIntervalMs: number): Promise<boolean> {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const store = new FileRunStore(fs, "/epic", { clock: { now: () => 2000 } });
    const written = run({ lease: { owner: "me", expiresAt: 16_000 }, lastWriteAt: 1000 });
    const current = { ...written, seq: 2, github: { ...written.github, minIntervalMs } };
    await store.transact(() => ({ next: current, result: undefined }));
    let started = false;
    const startBackgroundWriter = () => {
      started = true;
    };
    await recordWrite(
      { store, owner: "me", startBackgroundWriter },
      written,
      "progress",
      1000,
      false,
      comment,
    );
    const flusher = (await store.read())!.sync.flusher;
    expect(flusher !== null).toBe(started);
    return started;
  }

  it("claims a background writer for a change made meanwhile that falls due within the minute one waits", async () => {
    expect(await writerStartedAfter(1000)).toBe(true);
  });

  // It would give up at once, queueing the state: a later command, retry or finalize writes it, as when
  // a change's own write is that far off.
  it("leaves a change made meanwhile that falls due later than that to later commands", async () => {
    expect(await writerStartedAfter(120_000)).toBe(false);
  });
});

describe("recordFailure", () => {
  /**
   * Records a failed write (a 502, a 2 s back-off) by `owner` on a run whose background writer's claim is
   * `flusher`'s (expired at 2000); resolves to whether a background writer was claimed and started.
   */
  async function writerStartedAfterFailure(owner: string, flusher: string | null): Promise<boolean> {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const store = new FileRunStore(fs, "/epic", { clock: { now: () => 2000 } });
    const current = run({
      lease: { owner, expiresAt: 16_000 },
      lastWriteAt: 1000,
      flusher: flusher === null ? null : { owner: flusher, expiresAt: 1500 },
    });
    await store.transact(() => ({ next: current, result: undefined }));
    let started = false;
    const deps = {
      store,
      owner,
      clock: { now: () => 2000 },
      startBackgroundWriter: () => {
        started = true;
      },
    };
    const error = new GitHubError("updating the comment failed: 502", { kind: "server", status: 502 });
    await recordFailure(deps, current, "progress", error, null);
    return started;
  }

  it("claims a background writer for the write a command's failure leaves (its back-off is short)", async () => {
    expect(await writerStartedAfterFailure("command", null)).toBe(true);
    expect(await writerStartedAfterFailure("command", "writer")).toBe(true); // that claim ran out
  });

  it("claims none for the background writer's own failure, even past its claim's expiry", async () => {
    expect(await writerStartedAfterFailure("writer", "writer")).toBe(false);
  });
});
