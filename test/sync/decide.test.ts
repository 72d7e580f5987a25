import { describe, expect, it } from "vitest";
import type { RunState } from "../../src/model/types.js";
import type { QueueEntry } from "../../src/queue/types.js";
import { budgetAt, budgetDue, spend, WRITE_BURST, WRITE_REFILL_MS } from "../../src/sync/budget.js";
import { claimWrite } from "../../src/sync/claim.js";
import { backoffMs, decideWrite, pendingStep, waitReason } from "../../src/sync/decide.js";
import { leftForOtherApi, planRetry, stillQueued } from "../../src/sync/retry-plan.js";
import { syncedRun } from "./fixtures.js";

const base = (patch: Partial<RunState["github"]> = {}): RunState => syncedRun(patch, ["a", "b"]);

describe("decideWrite", () => {
  it("is local without sync, an issue or a repo", () => {
    expect(decideWrite(base({ syncEnabled: false }), 0, "me")).toEqual({ kind: "local" });
    expect(decideWrite(base({ issueNumber: null }), 0, "me")).toEqual({ kind: "local" });
    expect(decideWrite(base({ repo: null }), 0, "me")).toEqual({ kind: "local" });
  });

  it("writes when due, waits for the interval, yields to a live lease", () => {
    const state = base();
    expect(decideWrite(state, 5000, "me")).toEqual({ kind: "write", step: "progress" });
    const written = { ...state, sync: { ...state.sync, lastWriteAt: 5000 } };
    expect(decideWrite(written, 5400, "me")).toEqual({ kind: "wait", until: 6000 });
    const leased = { ...state, sync: { ...state.sync, lease: { owner: "other", expiresAt: 9000 } } };
    expect(decideWrite(leased, 8000, "me")).toEqual({ kind: "busy", until: 9000 });
    expect(decideWrite(leased, 9001, "me").kind).toBe("write");
    expect(decideWrite(leased, 8000, "other").kind).toBe("write");
  });

  it("is clean when the issue shows the latest seq, then wants the final summary after finalize", () => {
    const state = { ...base(), sync: { ...base().sync, postedSeq: 1 } };
    expect(decideWrite(state, 5000, "me")).toEqual({ kind: "clean" });
    const finalized = { ...state, completedAt: "2025-01-01T00:00:00Z" };
    expect(pendingStep(finalized)).toBe("final");
    expect(pendingStep({ ...finalized, sync: { ...finalized.sync, finalCommentId: 7 } })).toBeNull();
  });

  it("after a takeover, writes the clean progress comment once more when settleUntil has passed (edit mode)", () => {
    const posted = {
      ...base(),
      sync: { ...base().sync, postedSeq: 1, lastWriteAt: 5000, settleUntil: 20_000 },
    };
    expect(decideWrite(posted, 6500, "me")).toEqual({ kind: "wait", until: 20_000 });
    expect(decideWrite(posted, 20_000, "me")).toEqual({ kind: "write", step: "progress" });
    // A real change is written at once; the repeat stays owed.
    expect(decideWrite({ ...posted, seq: 2 }, 6500, "me")).toEqual({ kind: "write", step: "progress" });
    const append = { ...posted, github: { ...posted.github, commentMode: "append" as const } };
    expect(decideWrite(append, 20_000, "me")).toEqual({ kind: "clean" });
  });

  it("keeps a run within GitHub's write limits: a burst of 60 writes, then one every 10 s; finalize and retry write at once", () => {
    const state = base({ minIntervalMs: 0 });
    let sync = state.sync;
    let now = 1_000_000;
    // 60 writes 100 ms apart: all at once.
    for (let write = 0; write < WRITE_BURST; write++, now += 100) {
      const claim = claimWrite({ ...state, sync }, now, "me", 15_000);
      expect(claim.decision, `write ${write}`).toEqual({ kind: "write", step: "progress" });
      sync = { ...claim.state.sync, lease: null };
    }
    // The 61st waits for the budget to refill one write (6 s refilled over the burst: 10 s less 6).
    const spent = { ...state, sync };
    expect(decideWrite(spent, now, "me")).toEqual({ kind: "wait", until: now + 4000 });
    expect(decideWrite(spent, now, "me", true)).toEqual({ kind: "write", step: "progress" });
    expect(waitReason(spent, now, "me")).toMatch(
      /a run writes 60 times at most at once, then once every 10 s/,
    );
    // Over an hour of one write a second: at most 60 + 360 writes, within GitHub's 500.
    let written = WRITE_BURST;
    for (const end = now + 3_600_000; now < end; now += 1000) {
      const claim = claimWrite({ ...state, sync }, now, "me", 15_000);
      if (claim.decision.kind === "write") written++;
      sync = { ...claim.state.sync, lease: null };
    }
    expect(written).toBeLessThanOrEqual(WRITE_BURST + 3_600_000 / WRITE_REFILL_MS);
    expect(written).toBeGreaterThan(WRITE_BURST + 3_600_000 / WRITE_REFILL_MS - 2);
    // A quiet run refills to the burst, no further.
    expect(budgetAt(sync.writeBudget, now + 3_600_000)).toBe(WRITE_BURST);
    // finalize and retry write on an empty budget, unpaid: an ordinary write is never due further than one
    // refill away (what the background writers wait for).
    let empty = { tokens: 0, at: now };
    for (let write = 0; write < 8; write++) empty = spend(empty, now + write * 5000);
    expect(budgetDue(empty, now + 40_000)).toBeLessThanOrEqual(now + 40_000 + WRITE_REFILL_MS);
  });

  it("backs off after failures unless told to ignore it", () => {
    const state = { ...base(), sync: { ...base().sync, backoffUntil: 60_000 } };
    expect(decideWrite(state, 5000, "me")).toEqual({ kind: "backoff", until: 60_000 });
    expect(decideWrite(state, 5000, "me", true).kind).toBe("write");
    expect(backoffMs(1, false)).toBe(2000);
    expect(backoffMs(3, false)).toBe(8000);
    expect(backoffMs(30, false)).toBe(60_000);
    expect(backoffMs(1, true)).toBe(300_000);
  });
});

describe("planRetry", () => {
  const entry = (
    name: string,
    run: string,
    seq: number,
    kind: "progress" | "final" = "progress",
    mode: "edit" | "append" = "edit",
  ): QueueEntry => ({
    name,
    item: {
      issue_number: 1,
      comment: "x",
      timestamp: "t",
      repo: "o/r",
      api_url: "http://x",
      kind,
      comment_mode: mode,
      run_id: run,
      seq,
      reason: "",
      outcome_unknown: false,
      unsure_until: null,
    },
  });

  it("collapses the current run, upserts the newest snapshot of other runs, replays history", () => {
    const state = base();
    const plan = planRetry(
      [
        entry("1", "old", 3),
        entry("2", state.runId, 2),
        entry("3", "old", 5),
        entry("4", "old", 6, "final"),
        entry("5", "hist", 1, "progress", "append"),
        entry("6", state.runId, 4, "final"),
        entry("7", state.runId, 3, "progress", "append"), // the run's own history: its writer posts it
      ],
      state,
    );
    expect(plan.map((p) => `${p.name}:${p.action}`)).toEqual([
      "1:superseded",
      "2:current",
      "3:upsert",
      "4:final",
      "5:append",
      "7:current", // in seq order within its run
      "6:current",
    ]);
  });

  it("sends each run's entries in seq order, not by file name (a clock stepped back between two failures)", () => {
    const plan = planRetry(
      [
        entry("comment_20260105_090000_000000.json", "hist", 2, "progress", "append"),
        entry("comment_20260105_090001_000000.json", "other", 1, "progress", "append"),
        entry("comment_20260105_090002_000000.json", "hist", 3, "final"),
        entry("comment_20260105_080000_000000.json", "hist", 3, "progress", "append"),
      ].sort((a, b) => a.name.localeCompare(b.name)),
      null,
    );
    expect(plan.map((p) => `${p.item.run_id}:${p.item.seq}:${p.action}`)).toEqual([
      "hist:2:append",
      "hist:3:append",
      "other:1:append",
      "hist:3:final",
    ]);
  });

  it("marks other runs' entries for another API left (a dry run's plan), still counted as queued", () => {
    const state = base();
    const plan = leftForOtherApi(
      planRetry([entry("1", "old", 3), entry("2", state.runId, 2), entry("3", "hist", 1, "final")], state),
      "http://elsewhere",
    );
    expect(plan.map((p) => `${p.name}:${p.action}`)).toEqual(["1:left", "2:current", "3:left"]);
    expect(stillQueued(plan)).toBe(3);
    // Entries for the call's own API keep their action.
    expect(leftForOtherApi(planRetry([entry("1", "old", 3)], state), "http://x")[0]!.action).toBe("upsert");
  });

  it("sends a run's final summary after its progress snapshot of the same seq, whichever name sorts first", () => {
    const plan = planRetry(
      [
        entry("comment_20260105_090000_000999.json", "old", 3, "final"),
        entry("comment_20260105_090000_001000.json", "old", 3),
      ],
      null,
    );
    expect(plan.map((p) => `${p.item.kind}:${p.action}`)).toEqual(["progress:upsert", "final:final"]);
  });

  it("marks the current run's entries that the issue shows already (another machine wrote them) delivered", () => {
    const state = base();
    const shown = { ...state, sync: { ...state.sync, postedSeq: 3, finalCommentId: 9 } };
    const entries = [
      entry("1", state.runId, 2),
      entry("2", state.runId, 4),
      entry("3", state.runId, 4, "final"),
    ];
    const plan = planRetry(entries, shown);
    expect(plan.map((p) => `${p.name}:${p.action}`)).toEqual(["1:delivered", "2:current", "3:delivered"]);
    expect(stillQueued(plan)).toBe(1);
    expect(stillQueued(planRetry(entries, state))).toBe(3);
  });
});
