import { GitHubError } from "../errors.js";
import type { RepoRef } from "../github/types.js";
import type { RunState, SyncState } from "../model/types.js";
import { claimBackgroundWriter, claimWrite, claimWriterForLaterWrite } from "./claim.js";
import {
  appendProgressComment,
  postFinalComment,
  type WriteContext,
  writeProgressComment,
} from "./comments.js";
import { commandDeadline } from "./deadline.js";
import { backoffMs, canSync, missingSteps, needsWrite } from "./decide.js";
import { postQueuedHistory } from "./history.js";
import { releaseHeld, renewHeld } from "./leases.js";
import { Pacer } from "./pacer.js";
import type { Claim, Listing, StepOptions, StepResult, SyncDeps } from "./syncer-types.js";
import {
  DEFAULT_LEASE_MS,
  RENEW_AFTER_MS,
  UNANSWERED_WINDOW_MS,
  WRITER_CLAIM_MS,
  WRITER_MAX_WAIT_MS,
} from "./timings.js";
import { Wakeup } from "./wakeup.js";

export type { Claim, StepResult, SyncDeps } from "./syncer-types.js";

/** How long a background writer lives (see `runBackgroundWriter`). */
interface BackgroundWriterOptions {
  lifetimeMs?: number;
  maxFailures?: number;
  maxWaitMs?: number;
  /** Ends it at its next wait (the library's `close()`). */
  signal?: AbortSignal;
}

/** The write lease was taken over while this process was not looking (it stalled past its expiry). */
class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

/** The body to post; the renderer is loaded only when a write happens (start-up time). */
async function renderBody(state: RunState, step: "progress" | "final", now: number): Promise<string> {
  const { renderFinalComment, renderProgressComment } = await import("./client-and-renderer.js");
  return step === "progress" ? renderProgressComment(state, { now }) : renderFinalComment(state, { now });
}

export function repoRef(repo: string): RepoRef {
  const [owner = "", name = ""] = repo.split("/");
  return { owner, name };
}

/**
 * Brings the issue to the run's latest state, one write at a time, across processes: the lease in the
 * run state makes one process the writer; the others record their change and return at once, leaving
 * the write to the background writer. A failed write is queued and the run backs off; nothing waits on GitHub
 * longer than the client's budget.
 */
export class RunSyncer {
  private readonly leaseMs: number;
  /** The issue's comments as a write of the current flush listed them, and the lastWriteAt it recorded. */
  private listing: Listing | null = null;

  constructor(private readonly deps: SyncDeps) {
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** The write decision for `current`, made inside a store transaction (see claimWrite). */
  claim(current: RunState, now: number, options: StepOptions = {}): Claim {
    return claimWrite(current, now, this.deps.owner, this.leaseMs, options);
  }

  /**
   * Acts on a claim made in a transaction: starts the background writer it claimed, or does the write it won,
   * giving up at `deadline` (the command's, on this process's clock: the client's, not the store's).
   * `keepWriting`: the caller writes on until the issue is up to date (see StepOptions).
   */
  async act(
    claim: Claim,
    deadline = commandDeadline(this.deps.clock.now()),
    keepWriting = false,
  ): Promise<StepResult> {
    if (claim.claimBackgroundWriter) await this.deps.startBackgroundWriter();
    const { decision } = claim;
    if (decision.kind !== "write") return { kind: "none", decision };
    return this.write(claim, decision.step, deadline, keepWriting);
  }

  /** One decision, and at most one write (or a few, when converging duplicates). */
  async step(options: StepOptions = {}): Promise<StepResult> {
    return (await this.stepAt(options)).result;
  }

  /** A step, with the store's clock at its decision (waits are durations from it, whatever this clock says). */
  private async stepAt(options: StepOptions): Promise<{ result: StepResult; now: number | null }> {
    const claim = await this.deps.store.transact((current, now) => {
      if (!current) return { result: null };
      const made = this.claim(current, now, options);
      return { next: made.state === current ? undefined : made.state, result: made };
    });
    if (!claim || claim.writerLost) return { result: { kind: "none", decision: null }, now: null };
    const deadline = options.deadline ?? commandDeadline(this.deps.clock.now());
    return { result: await this.act(claim, deadline, options.keepWriting ?? false), now: claim.now };
  }

  /**
   * Before each request of a write: renews the lease unless it was taken or renewed within the last
   * second, so no request starts with less than the lease minus a second left, and none starts once the
   * lease was lost. (The client gives up on a request within 10 s, well inside the 15 s lease.)
   */
  private leaseKeeper(): () => Promise<void> {
    const { clock, owner, store } = this.deps;
    let renewedAt = clock.now();
    return async () => {
      if (clock.now() - renewedAt < RENEW_AFTER_MS) return;
      const held = await renewHeld(store, "lease", owner, this.leaseMs);
      if (!held) throw new LeaseLostError("the write lease was taken over");
      renewedAt = clock.now();
    };
  }

  private async write(
    claim: Claim,
    step: "progress" | "final",
    deadline: number,
    keepWriting: boolean,
  ): Promise<StepResult> {
    const { state, now: startedAt, previousWriteAt } = claim;
    // The issue's comments as this flush listed them, when no write of the run happened since (by anyone:
    // every write attempt moves lastWriteAt): a final summary there would have been seen.
    const listing = this.listing;
    const listed =
      listing?.runId === state.runId && listing.writeAt === previousWriteAt ? listing.comments : null;
    this.listing = null;
    let body: string;
    try {
      body = await renderBody(state, step, this.deps.clock.now());
    } catch (error) {
      await this.releaseLease();
      throw error;
    }
    // Kept for the catch: what it learned of a request that timed out.
    let context: WriteContext | null = null;
    try {
      const client = await this.deps.client(state.github.apiUrl);
      context = {
        client,
        target: { repo: repoRef(state.github.repo!), issueNumber: state.github.issueNumber! },
        // The lease was taken for a write due now; further writes of this step wait their turn.
        pacer: new Pacer(
          this.deps.clock,
          state.github.minIntervalMs,
          this.deps.sleep,
          this.deps.clock.now() - state.github.minIntervalMs,
          this.leaseKeeper(),
          deadline,
        ),
        viewer: state.sync.viewer ?? undefined,
        timeLeft: () => deadline - this.deps.clock.now(),
        holdCreatesUntil: this.heldUntil(state.sync, startedAt),
      };
      const written =
        step === "final"
          ? await postFinalComment(context, { runId: state.runId, body, listed })
          : state.github.commentMode === "append"
            ? await this.append(context, state, body)
            : await writeProgressComment(context, {
                runId: state.runId,
                seq: state.seq,
                body,
                commentId: state.sync.commentId,
                converge: state.completedAt !== null,
                fresh: previousWriteAt === 0,
              });
      const writeAt = await this.record(state, step, startedAt, keepWriting, {
        commentId: written.comment.id,
        url: written.comment.htmlUrl,
        viewer: written.viewer,
      });
      await this.clearDelivered(state, step);
      if (keepWriting && context.listed && writeAt !== null) {
        this.listing = { runId: state.runId, comments: context.listed, writeAt };
      }
      return { kind: "wrote", step, url: written.comment.htmlUrl };
    } catch (error) {
      // Another process holds the lease now and brings the issue up to date: nothing was sent.
      if (error instanceof LeaseLostError)
        return { kind: "none", decision: { kind: "busy", until: startedAt } };
      if (!(error instanceof GitHubError)) {
        await this.releaseLease();
        throw error;
      }
      const unanswered = context?.unanswered ?? null;
      const unsureUntil = unanswered === "create" ? this.deps.clock.now() + UNANSWERED_WINDOW_MS : null;
      const { name: queuedAs } = await this.enqueue(state, step, body, error.message, {
        outcomeUnknown: error.outcomeUnknown,
        unsureUntil,
      });
      await this.recordFailure(state, step, error, unanswered, keepWriting);
      this.deps.warn(`GitHub: ${error.message}; the update is queued as ${queuedAs}`);
      return { kind: "failed", step, error, queuedAs };
    }
  }

  /** Append mode: the run's queued history first, in order, then this state's comment (once). */
  private async append(context: WriteContext, state: RunState, body: string) {
    const queued = await postQueuedHistory(context, this.deps.queue, state);
    if (queued) return { comment: queued, viewer: context.viewer ?? queued.author };
    return appendProgressComment(context, {
      runId: state.runId,
      seq: state.seq,
      body,
      // After a failure (perhaps a create whose answer was lost) look before posting again.
      lookFirst: state.sync.consecutiveFailures > 0 || state.sync.unsureCreate !== null,
    });
  }

  /**
   * Removes the run's queued posts that this write made superfluous, so the queue keeps saying what
   * the issue lacks: in edit mode the snapshots up to this state, and the final summary once posted.
   * (Append-mode history was posted by the write itself.) The queue is looked at only when not empty.
   */
  private async clearDelivered(state: RunState, step: "progress" | "final"): Promise<void> {
    if (this.deps.queue.count() === 0) return;
    for (const { name, item } of (await this.deps.queue.list()).entries) {
      if (item.run_id !== state.runId || item.kind !== step) continue;
      if (step === "final" || (item.comment_mode === "edit" && item.seq <= state.seq)) {
        await this.deps.queue.remove(name);
      }
    }
  }

  /** Records that a body of this run's `seq` is on the issue (a history comment replayed from the queue). */
  async markPosted(runId: string, seq: number): Promise<void> {
    await this.deps.store.transact((current) => {
      if (!current || current.runId !== runId || current.sync.postedSeq >= seq) return { result: undefined };
      return { next: { ...current, sync: { ...current.sync, postedSeq: seq } }, result: undefined };
    });
  }

  /**
   * Puts a post in the offline queue (no token: the body and where it goes), unless the queue already
   * holds this run's post of that kind for this state or a newer one. In edit mode the newest progress
   * snapshot replaces the run's older ones (added first, then the older removed: a crash between leaves
   * both, never none), so a GitHub that stays down keeps one progress entry per run. Append mode keeps
   * each snapshot: each is a comment of the history. Returns the file's name and whether it is new.
   */
  async enqueue(
    state: RunState,
    step: "progress" | "final",
    body: string,
    reason: string,
    /** `unsureUntil`: a create that timed out may still appear until then (this process's clock). */
    outcome: { outcomeUnknown: boolean; unsureUntil: number | null } = {
      outcomeUnknown: false,
      unsureUntil: null,
    },
  ): Promise<{ name: string; added: boolean }> {
    const { entries } = await this.deps.queue.list();
    const held = entries.find(
      ({ item }) =>
        item.run_id === state.runId && item.kind === step && (step === "final" || item.seq >= state.seq),
    );
    // A held entry stays as it is: the run's state holds an unanswered create's window (an entry queued
    // before its create timed out has no unsure_until, which matters only once a later init replaced the run).
    if (held) return { name: held.name, added: false };
    const name = await this.deps.queue.add({
      issue_number: state.github.issueNumber!,
      comment: body,
      timestamp: new Date(this.deps.clock.now()).toISOString(),
      repo: state.github.repo!,
      api_url: state.github.apiUrl,
      kind: step,
      comment_mode: state.github.commentMode,
      run_id: state.runId,
      seq: state.seq,
      reason,
      outcome_unknown: outcome.outcomeUnknown,
      unsure_until: outcome.unsureUntil === null ? null : new Date(outcome.unsureUntil).toISOString(),
    });
    if (step === "progress" && state.github.commentMode === "edit") {
      for (const { name: older, item } of entries) {
        const superseded = item.run_id === state.runId && item.kind === "progress" && item.seq < state.seq;
        if (superseded && item.comment_mode === "edit") await this.deps.queue.remove(older);
      }
    }
    return { name, added: true };
  }

  /**
   * Queues every post the issue still lacks (the progress snapshot and, for a finalized run, the final
   * summary) that the queue does not hold yet, so that the queue says truthfully what remains and a
   * later `init` cannot lose it. Returns the names of the files added.
   */
  async queueMissing(reason: string): Promise<string[]> {
    const state = await this.deps.store.read();
    if (!state || !canSync(state)) return [];
    const added: string[] = [];
    for (const step of missingSteps(state)) {
      const body = await renderBody(state, step, this.deps.clock.now());
      const queued = await this.enqueue(state, step, body, reason);
      if (queued.added) added.push(queued.name);
    }
    return added;
  }

  /** Records a write; returns the run's lastWriteAt as set (null when the run is gone). */
  private async record(
    written: RunState,
    step: "progress" | "final",
    startedAt: number,
    keepWriting: boolean,
    comment: { commentId: number; url: string; viewer: string | null },
  ): Promise<number | null> {
    const { owner } = this.deps;
    let claimed = false;
    const writeAt = await this.deps.store.transact<number | null>((current, now) => {
      if (!current || current.runId !== written.runId) return { result: null };
      const sync = { ...current.sync };
      if (sync.lease?.owner === owner) sync.lease = null;
      sync.viewer = comment.viewer ?? sync.viewer;
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
        sync.commentId = comment.commentId;
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
      // Something changed while we wrote: make sure somebody writes it (unless this caller goes on).
      let next = sync;
      if (!keepWriting && needsWrite({ ...current, sync })) {
        ({ sync: next, claimed } = claimBackgroundWriter(sync, this.deps.owner, now));
      }
      return { next: { ...current, sync: next }, result: sync.lastWriteAt };
    });
    if (claimed) await this.deps.startBackgroundWriter();
    return writeAt;
  }

  /**
   * Records a failed write: the back-off, and what a request GitHub did not answer in time may still do
   * (UNANSWERED_WINDOW_MS): an edit may land over a newer body, so the progress comment is written once
   * more after the window (settleUntil, as after a takeover); a create may still appear, so none is made
   * before it (unsureCreate). Unless the caller writes on, a background writer is claimed for that.
   */
  private async recordFailure(
    written: RunState,
    step: "progress" | "final",
    error: GitHubError,
    unanswered: "edit" | "create" | null,
    keepWriting: boolean,
  ): Promise<void> {
    // GitHub's "not before" is an instant on this machine's clock: carried over to the store's as a delay.
    const local = this.deps.clock.now();
    let claimed = false;
    await this.deps.store.transact((current, now) => {
      if (!current || current.runId !== written.runId) return { result: undefined };
      const retryAt = error.retryAt === null ? null : now + (error.retryAt - local);
      const failures = current.sync.consecutiveFailures + 1;
      let sync: SyncState = {
        ...current.sync,
        lease: current.sync.lease?.owner === this.deps.owner ? null : current.sync.lease,
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
      if (unanswered !== null && !keepWriting && needsWrite({ ...current, sync })) {
        ({ sync, claimed } = claimBackgroundWriter(sync, this.deps.owner, now));
      }
      return { next: { ...current, sync }, result: undefined };
    });
    if (claimed) await this.deps.startBackgroundWriter();
  }

  /** The run's unanswered create's window on this process's clock while it lasts (`storeNow`: the store's). */
  private heldUntil(sync: SyncState, storeNow: number): number | null {
    const until = sync.unsureCreate?.until ?? 0;
    return until > storeNow ? this.deps.clock.now() + (until - storeNow) : null;
  }

  /**
   * Claims and starts a background writer when the issue owes a write that only time makes due (the
   * repeat after settleUntil, or a create held until an unanswered one can no longer land) and none is
   * alive: finalize and retry end before such a wait, and nobody else may come.
   */
  async ensureBackgroundWriter(): Promise<void> {
    const { owner } = this.deps;
    const claimed = await this.deps.store.transact((current, now) => {
      const sync = current ? claimWriterForLaterWrite(current, now, owner) : null;
      return current && sync ? { next: { ...current, sync }, result: true } : { result: false };
    });
    if (claimed) await this.deps.startBackgroundWriter();
  }

  private releaseLease(): Promise<void> {
    return releaseHeld(this.deps.store, "lease", this.deps.owner);
  }

  /**
   * Writes until the issue shows the latest state (and the final summary, once finalized), waiting for
   * writes to fall due, until `deadline` (this process's clock). Stops at the first failure: the post is
   * queued by then. With `wakeup` (the store's notifications), a wait also ends at the next change, so a
   * busy lease is followed as soon as its holder releases it rather than by polling.
   */
  async flush(options: {
    deadline: number;
    ignoreBackoff?: boolean;
    asBackgroundWriter?: boolean;
    /** Give up rather than wait longer than this for one write to fall due. */
    maxWaitMs?: number;
    wakeup?: Wakeup;
    /** Stops the flush at its next wait (the library's `close()`). */
    signal?: AbortSignal;
  }): Promise<StepResult> {
    this.listing = null;
    try {
      return await this.flushSteps(options);
    } finally {
      this.listing = null;
    }
  }

  private async flushSteps(options: Parameters<RunSyncer["flush"]>[0]): Promise<StepResult> {
    let last: StepResult = { kind: "none", decision: null };
    for (let round = 0; round < 10_000 && !options.signal?.aborted; round++) {
      // No write is started once the deadline has passed: what is left is queued by the caller.
      if (this.deps.clock.now() >= options.deadline) return last;
      const { result, now } = await this.stepAt({
        ignoreBackoff: options.ignoreBackoff ?? false,
        asBackgroundWriter: options.asBackgroundWriter ?? false,
        keepWriting: true,
        // Each write within the flush's own deadline, and no longer than a command's.
        deadline: Math.min(options.deadline, commandDeadline(this.deps.clock.now())),
      });
      last = result;
      if (last.kind === "failed") return last;
      if (last.kind === "wrote") continue;
      const decision = last.decision;
      if (!decision || decision.kind === "local" || decision.kind === "clean" || now === null) return last;
      const wait = Math.max(0, decision.until - now);
      const local = this.deps.clock.now();
      if (decision.kind === "busy" ? local >= options.deadline : local + wait > options.deadline) return last;
      if (decision.kind !== "busy" && wait > (options.maxWaitMs ?? Number.POSITIVE_INFINITY)) return last;
      if (options.wakeup) {
        // Until due or the next change; a background writer wakes every few seconds anyway to renew its claim.
        await options.wakeup.wait(Math.max(5, Math.min(wait, WRITER_CLAIM_MS / 3)));
      } else {
        // No notifications here: poll a busy lease often (its holder usually finishes in milliseconds).
        const pause = decision.kind === "busy" ? Math.min(100, wait) : wait;
        await this.deps.sleep(Math.max(5, Math.min(pause, 1000)), options.signal);
      }
    }
    return last;
  }

  /**
   * The background writer's whole life: write until clean; give up after a permanent failure, `maxFailures`
   * transient ones (default 3), a wait of over `maxWaitMs` (default a minute), `lifetimeMs` (default 10
   * minutes) or an abort. Later commands start a new one when needed. What it leaves unwritten is
   * queued (a failed write's post already is), so the queue says what the issue lacks. It waits on the
   * store's notifications and its own due times, never in a sleep loop: a change by any process, or a
   * lease released anywhere, wakes it.
   */
  async runBackgroundWriter(options: BackgroundWriterOptions = {}): Promise<void> {
    const { lifetimeMs = 10 * 60_000, maxFailures = 3, maxWaitMs = WRITER_MAX_WAIT_MS, signal } = options;
    const { store, clock, owner } = this.deps;
    const wakeup = new Wakeup(this.deps.sleep);
    signal?.addEventListener("abort", wakeup.notify, { once: true });
    // Without notifications (a watcher limit reached) the due times still hold; only a busy lease is seen later.
    const unsubscribe = await store.subscribe(wakeup.notify).catch(() => null);
    try {
      const started = clock.now();
      // Takes over the claim made for it (or makes one): a live claim, renewed while this process runs.
      await store.transact((current, now) =>
        current
          ? {
              next: {
                ...current,
                sync: { ...current.sync, flusher: { owner, expiresAt: now + WRITER_CLAIM_MS } },
              },
              result: 0,
            }
          : { result: 0 },
      );
      let failures = 0;
      while (clock.now() - started < lifetimeMs && failures < maxFailures && !signal?.aborted) {
        // A long back-off (a permanent error such as 401, or a long rate limit) is left to later commands,
        // which may run with other credentials: this process could only wait with the ones it was given.
        const result = await this.flush({
          deadline: started + lifetimeMs,
          asBackgroundWriter: true,
          maxWaitMs,
          wakeup,
          ...(signal ? { signal } : {}),
        });
        if (result.kind === "failed") {
          if (!result.error.transient) break;
          failures++;
          continue;
        }
        // Closed, or out of time (the flush returns early then, whatever it last saw).
        if (signal?.aborted || clock.now() - started >= lifetimeMs) break;
        if (result.kind !== "none") continue;
        const decision = result.decision;
        if (!decision || decision.kind === "clean" || decision.kind === "local") {
          return; // the record was cleared in the same transaction that saw nothing left to write
        }
        break; // the next write is due later than this process may wait
      }
      await this.queueMissing("the background writer stopped before the issue was up to date");
      await releaseHeld(store, "flusher", owner);
    } finally {
      signal?.removeEventListener("abort", wakeup.notify);
      await unsubscribe?.();
    }
  }
}
