import { describe, expect, it } from "vitest";
import type { RunState, SyncState } from "../../src/model/types.js";
import { claimBackgroundWriter, claimWrite, claimWriterForLaterWrite } from "../../src/sync/claim.js";
import { LATE_LANDING_MS, WRITER_MAX_WAIT_MS, WRITER_START_MS } from "../../src/sync/timings.js";
import { syncedRun } from "./fixtures.js";

const LEASE = 15_000;

const run = (sync: Partial<SyncState> = {}, commentMode: "edit" | "append" = "edit"): RunState => {
  const state = syncedRun({ commentMode });
  return { ...state, sync: { ...state.sync, ...sync } };
};

describe("claimBackgroundWriter", () => {
  it("claims for the start-up time unless a live claim exists", () => {
    const { sync } = run();
    expect(claimBackgroundWriter(sync, "me", 100)).toEqual({
      sync: { ...sync, flusher: { owner: "me", expiresAt: 100 + WRITER_START_MS } },
      claimed: true,
    });
    const held = { ...sync, flusher: { owner: "other", expiresAt: 200 } };
    expect(claimBackgroundWriter(held, "me", 100)).toEqual({ sync: held, claimed: false });
    expect(claimBackgroundWriter(held, "me", 200).claimed).toBe(true);
  });
});

describe("claimWrite", () => {
  it("takes the lease for a write that is due, and moves lastWriteAt", () => {
    const current = run();
    const claim = claimWrite(current, 5000, "me", LEASE);
    expect(claim.decision).toEqual({ kind: "write", step: "progress" });
    expect(claim.state.sync.lease).toEqual({ owner: "me", expiresAt: 5000 + LEASE });
    expect(claim.state.sync.lastWriteAt).toBe(5000);
    expect(claim).toMatchObject({ now: 5000, previousWriteAt: 0, claimBackgroundWriter: false });
  });

  it("after taking an expired lease over in edit mode, repeats the write once the old one cannot land", () => {
    const lease = { owner: "dead", expiresAt: 4000 };
    const edit = claimWrite(run({ lease }), 5000, "me", LEASE);
    expect(edit.state.sync.settleUntil).toBe(4000 + LATE_LANDING_MS);
    // In append mode a late post is one more history comment: nothing to repeat.
    expect(claimWrite(run({ lease }, "append"), 5000, "me", LEASE).state.sync.settleUntil).toBe(0);
  });

  it("returns the same state when nothing is claimed", () => {
    const current = run({ lastWriteAt: 5000 });
    const claim = claimWrite(current, 5500, "me", LEASE);
    expect(claim.decision).toEqual({ kind: "wait", until: 6000 });
    expect(claim.state).toBe(current);
  });

  it("claims a background writer for a near wait when asked, not for one longer than it would wait", () => {
    const near = claimWrite(run({ lastWriteAt: 5000 }), 5500, "me", LEASE, { ensureBackgroundWriter: true });
    expect(near.claimBackgroundWriter).toBe(true);
    expect(near.state.sync.flusher).toEqual({ owner: "me", expiresAt: 5500 + WRITER_START_MS });
    const far = run({ backoffUntil: 5500 + WRITER_MAX_WAIT_MS + 1 });
    expect(claimWrite(far, 5500, "me", LEASE, { ensureBackgroundWriter: true }).claimBackgroundWriter).toBe(
      false,
    );
  });

  it("asks for a standby beside another's live claim only when this machine cannot judge it", () => {
    const options = { ensureBackgroundWriter: true };
    const flusher = { owner: "other", expiresAt: 9000, space: "elsewhere", pid: 7 };
    const beside = (marked: boolean) =>
      claimWrite(run({ lastWriteAt: 5000, flusher }), 5500, "me", LEASE, options, { marked: () => marked });
    // Another machine's claim (or an unmarked one): a standby; one marked here is judged by its process.
    expect(beside(false)).toMatchObject({ claimBackgroundWriter: false, standbyWriter: true });
    expect(beside(true)).toMatchObject({ claimBackgroundWriter: false, standbyWriter: false });
    expect(beside(false).state.sync.flusher).toBe(flusher); // left as it is
    // No write left to a writer (up to date, or due later than one waits): none.
    const clean = { ...run({ flusher, postedSeq: 1 }), seq: 1 };
    expect(claimWrite(clean, 5500, "me", LEASE, options).standbyWriter).toBe(false);
    const far = run({ flusher, backoffUntil: 5500 + WRITER_MAX_WAIT_MS + 1 });
    expect(claimWrite(far, 5500, "me", LEASE, options).standbyWriter).toBe(false);
    // An expired claim is claimed as before.
    expect(claimWrite(run({ lastWriteAt: 9200, flusher }), 9500, "me", LEASE, options)).toMatchObject({
      claimBackgroundWriter: true,
      standbyWriter: false,
    });
  });

  it("as the background writer: stops when its claim was taken, clears it when nothing is left", () => {
    const lost = claimWrite(run({ flusher: { owner: "other", expiresAt: 9000 } }), 5000, "me", LEASE, {
      asBackgroundWriter: true,
    });
    expect(lost.writerLost).toBe(true);
    expect(lost.state.sync.lease).toBeNull();
    const clean = run({ flusher: { owner: "me", expiresAt: 20_000 }, postedSeq: 1 });
    const done = claimWrite({ ...clean, seq: 1 }, 5000, "me", LEASE, { asBackgroundWriter: true });
    expect(done.decision).toEqual({ kind: "clean" });
    expect(done.state.sync.flusher).toBeNull();
  });
});

describe("claimWriterForLaterWrite", () => {
  it("claims only for a write that time alone makes due", () => {
    const clean = { ...run({ postedSeq: 1 }), seq: 1 };
    expect(claimWriterForLaterWrite(clean, 0, "me")).toBeNull();
    const settlingRun = { ...clean, sync: { ...clean.sync, settleUntil: 9000, lastWriteAt: 5000 } };
    expect(claimWriterForLaterWrite(settlingRun, 5000, "me")?.sync.flusher).toEqual({
      owner: "me",
      expiresAt: 5000 + WRITER_START_MS,
    });
    const claimed = {
      ...settlingRun,
      sync: { ...settlingRun.sync, flusher: { owner: "x", expiresAt: 6000 } },
    };
    // Another's live claim: none claimed; a standby when this machine cannot judge it.
    const judged = { marked: () => true };
    expect(claimWriterForLaterWrite(claimed, 5000, "me", judged)).toMatchObject({
      claimed: false,
      standby: false,
    });
    expect(claimWriterForLaterWrite(claimed, 5000, "me")).toMatchObject({ claimed: false, standby: true });
  });
});
