import type { GitHubError } from "../errors.js";
import type { RunState, SyncState } from "../model/types.js";
import { claimWriterIfOwed, withoutGoneWriter } from "./claim.js";
import { backoffMs, decideWrite } from "./decide.js";
import { startWriterOf } from "./local-writer.js";
import type { Claim, Step, SyncDeps } from "./syncer-types.js";
import { UNANSWERED_WINDOW_MS } from "./timings.js";

/**
 * A write's outcome recorded in the run state: the pure transitions (`recordedWrite`, `recordedFailure`)
 * and the transactions that apply them. What is still owed afterwards gets a background writer claimed
 * (and started) for it when one would wait for it (claimWriterIfOwed): after a write unless the caller
 * writes on, after a failed write unless the failing process is the background writer.
 */

type RecordDeps = Pick<
  SyncDeps,
  "store" | "owner" | "startBackgroundWriter" | "startStandbyWriter" | "writers"
>;

/** Where the write put the post. */
interface Written {
  commentId: number;
  url: string;
  viewer: string | null;
  viewerId: number | null;
}

/** A failed write, as the run state records it. */
export interface Failure {
  step: Step;
  error: Pick<GitHubError, "kind" | "message" | "transient"> & { local?: boolean };
  /** GitHub's "not before", on the store's clock; null without one. */
  retryAt: number | null;
  /**
   * For a failure found before any request (`error.local`): the claim that took the write, whose time and
   * budget token are given back when nothing wrote since (the lease was this caller's).
   */
  claimed?: Pick<Claim, "now" | "previousWriteAt" | "previousBudget">;
  /** The request GitHub did not answer in time, if any. */
  unanswered: "edit" | "create" | null;
}

/**
 * `current`'s sync state once `written` (the state a write of `step` that started at `startedAt` posted)
 * is on the issue, at `now` (the store's clock).
 */
export function recordedWrite(
  current: RunState,
  written: RunState,
  step: Step,
  startedAt: number,
  comment: Written,
  owner: string,
  now: number,
): SyncState {
  const sync = { ...current.sync };
  if (sync.lease?.owner === owner) sync.lease = null;
  sync.viewer = comment.viewer ?? sync.viewer;
  sync.viewerId = comment.viewerId ?? sync.viewerId;
  sync.consecutiveFailures = 0;
  sync.backoffUntil = 0;
  sync.lastError = null;
  sync.lastWriteAt = Math.max(sync.lastWriteAt, now); // the interval counts from here
  // The unanswered create of this kind was found (or, its window over, posted): creates go ahead.
  if (sync.unsureCreate?.kind === step) sync.unsureCreate = null;
  if (step === "final") {
    sync.finalCommentId = comment.commentId;
    sync.finalCommentUrl = comment.url;
  } else {
    // commentId is the run's progress comment (edit mode's): a history comment (append mode) is never
    // edited, and a switch back to edit mode edits the run's progress comment again, not the newest of it.
    if (written.github.commentMode === "edit") sync.commentId = comment.commentId;
    sync.commentUrl = comment.url;
    // Another writer started after us (our lease ran out): which body landed last is unknown,
    // so count ours as the one on the issue and let the next write bring the latest.
    const overtaken = current.sync.lastWriteAt > startedAt;
    sync.postedSeq = overtaken
      ? Math.min(sync.postedSeq, written.seq)
      : Math.max(sync.postedSeq, written.seq);
    // Written after the old holder's last request could land: this write is the last word.
    if (sync.settleUntil > 0 && startedAt >= sync.settleUntil) sync.settleUntil = 0;
  }
  return sync;
}

/**
 * `current`'s sync state after a failed write, at `now` (the store's clock): the back-off, and what a
 * request GitHub did not answer in time may still do (UNANSWERED_WINDOW_MS): an edit may land over a
 * newer body, so the progress comment is written once more after the window (settleUntil, as after a
 * takeover); a create may still appear, so none is made before it (unsureCreate).
 */
export function recordedFailure(current: RunState, failure: Failure, owner: string, now: number): SyncState {
  const { step, error, retryAt, unanswered, claimed } = failure;
  const lease = current.sync.lease?.owner === owner ? null : current.sync.lease;
  // This process's own problem (no request was made): said, but the run is not backed off for it, and
  // what its claim took (the write's time, a budget token) is given back.
  if (error.local) {
    const untouched = claimed !== undefined && current.sync.lastWriteAt === claimed.now;
    return {
      ...current.sync,
      lease,
      lastError: error.message,
      ...(untouched ? { lastWriteAt: claimed.previousWriteAt, writeBudget: claimed.previousBudget } : {}),
    };
  }
  const failures = current.sync.consecutiveFailures + 1;
  const sync: SyncState = {
    ...current.sync,
    lease,
    consecutiveFailures: failures,
    lastWriteAt: Math.max(current.sync.lastWriteAt, now),
    backoffUntil: retryAt ?? now + backoffMs(failures, !error.transient),
    rateLimitedUntil:
      error.kind === "rate-limited" && retryAt ? retryAt : (current.sync.rateLimitedUntil ?? 0),
    lastError: error.message,
  };
  const lateUntil = now + UNANSWERED_WINDOW_MS;
  if (unanswered === "edit" && current.github.commentMode === "edit") {
    sync.settleUntil = Math.max(sync.settleUntil, lateUntil);
  } else if (unanswered === "create") {
    sync.unsureCreate = { kind: step, until: lateUntil };
    // Nothing to gain by trying before then but a lookup: retry and finalize still look (they ignore it).
    sync.backoffUntil = Math.max(sync.backoffUntil, lateUntil);
  }
  return sync;
}

/** Records a write; returns the run's lastWriteAt as set (null when the run is gone). */
export async function recordWrite(
  deps: RecordDeps,
  written: RunState,
  step: Step,
  startedAt: number,
  keepWriting: boolean,
  comment: Written,
): Promise<number | null> {
  const { owner } = deps;
  let started = { claimed: false, standby: false };
  const writeAt = await deps.store.transact<number | null>((read, now) => {
    if (!read || read.runId !== written.runId) return { result: null };
    const current = withoutGoneWriter(read, deps.writers);
    const sync = recordedWrite(current, written, step, startedAt, comment, owner, now);
    // Something changed while we wrote: make sure somebody writes it (unless this caller goes on).
    let next = sync;
    if (!keepWriting) {
      const decision = decideWrite({ ...current, sync }, now, owner);
      ({ sync: next, ...started } = claimWriterIfOwed(sync, decision, owner, now, deps.writers));
    }
    return { next: { ...current, sync: next }, result: sync.lastWriteAt };
  });
  await startWriterOf(deps, started);
  return writeAt;
}

/**
 * Records a failed write (see recordedFailure), and claims a background writer for what the issue still
 * lacks when one would wait for it (claimWriterIfOwed: a back-off or a rate limit of a minute at most, the
 * window of an unanswered request): no caller writes on after a failure, and the failed write may be an
 * agent's last report or the final summary. A background writer's own failure claims none (its claim is
 * checked by owner); a permanent error's 5-minute back-off is left to the next command, `retry` or `finalize`.
 */
export async function recordFailure(
  deps: RecordDeps & Pick<SyncDeps, "clock">,
  written: RunState,
  step: Step,
  error: GitHubError,
  unanswered: "edit" | "create" | null,
  claim?: Failure["claimed"],
): Promise<void> {
  // GitHub's "not before" is an instant on this machine's clock: carried over to the store's as a delay.
  const local = deps.clock.now();
  let started = { claimed: false, standby: false };
  await deps.store.transact((read, now) => {
    if (!read || read.runId !== written.runId) return { result: undefined };
    const current = withoutGoneWriter(read, deps.writers);
    const retryAt = error.retryAt === null ? null : now + (error.retryAt - local);
    const failure = { step, error, retryAt, unanswered, ...(claim ? { claimed: claim } : {}) };
    let sync = recordedFailure(current, failure, deps.owner, now);
    // The background writer's own failure (the claim is its own, even run out): it goes on, or ends by its
    // rules; a successor it started itself would escape them. Nor is one claimed for this process's own
    // problem (no token, another API): a writer started here would meet it too.
    if (!error.local && current.sync.flusher?.owner !== deps.owner) {
      const decision = decideWrite({ ...current, sync }, now, deps.owner);
      ({ sync, ...started } = claimWriterIfOwed(sync, decision, deps.owner, now, deps.writers));
    }
    return { next: { ...current, sync }, result: undefined };
  });
  await startWriterOf(deps, started);
}
