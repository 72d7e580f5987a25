import { GitHubError } from "../errors.js";
import type { RepoRef } from "../github/types.js";
import type { RunState, SyncState } from "../model/types.js";
import { claimWrite, claimWriterForLaterWrite } from "./claim.js";
import {
  appendProgressComment,
  postFinalComment,
  type WriteContext,
  writeProgressComment,
} from "./comments.js";
import { commandDeadline } from "./deadline.js";
import { postQueuedHistory } from "./history.js";
import { releaseHeld, renewHeld } from "./leases.js";
import { Pacer } from "./pacer.js";
import { clearDelivered, enqueue, queueMissing } from "./queueing.js";
import { recordFailure, recordWrite } from "./record.js";
import { renderBody } from "./render-body.js";
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
      const writeAt = await recordWrite(this.deps, state, step, startedAt, keepWriting, {
        commentId: written.comment.id,
        url: written.comment.htmlUrl,
        viewer: written.viewer,
      });
      await clearDelivered(this.deps, state, step);
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
      const { name: queuedAs } = await enqueue(this.deps, state, step, body, error.message, {
        outcomeUnknown: error.outcomeUnknown,
        unsureUntil,
      });
      await recordFailure(this.deps, state, step, error, unanswered, keepWriting);
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

  /** Records that a body of this run's `seq` is on the issue (a history comment replayed from the queue). */
  async markPosted(runId: string, seq: number): Promise<void> {
    await this.deps.store.transact((current) => {
      if (!current || current.runId !== runId || current.sync.postedSeq >= seq) return { result: undefined };
      return { next: { ...current, sync: { ...current.sync, postedSeq: seq } }, result: undefined };
    });
  }

  /**
   * Queues every post the issue still lacks (the progress snapshot and, for a finalized run, the final
   * summary) that the queue does not hold yet, so that the queue says truthfully what remains and a
   * later `init` cannot lose it. Returns the names of the files added.
   */
  async queueMissing(reason: string): Promise<string[]> {
    return queueMissing(this.deps, reason);
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
