import type { RunState } from "../model/types.js";
import { claimWrite, claimWriterForLaterWrite } from "./claim.js";
import { commandDeadline } from "./deadline.js";
import { releaseHeld } from "./leases.js";
import { queueMissing } from "./queueing.js";
import type { Claim, Listing, StepOptions, StepResult, SyncDeps } from "./syncer-types.js";
import { DEFAULT_LEASE_MS, WRITER_CLAIM_MS, WRITER_MAX_WAIT_MS } from "./timings.js";
import { Wakeup } from "./wakeup.js";
import { writeStep } from "./write-step.js";

export type { Claim, StepResult, SyncDeps } from "./syncer-types.js";

/** How long a background writer lives (see `runBackgroundWriter`). */
interface BackgroundWriterOptions {
  lifetimeMs?: number;
  maxFailures?: number;
  maxWaitMs?: number;
  /** Ends it at its next wait (the library's `close()`). */
  signal?: AbortSignal;
}

/**
 * Brings the issue to the run's latest state, one write at a time, across processes: the lease in the
 * run state makes one process the writer; the others record their change and return at once, leaving
 * the write to the background writer. A failed write is queued and the run backs off; nothing waits on GitHub
 * longer than the client's budget.
 */
export class RunSyncer {
  private readonly leaseMs: number;
  /** The comments as a write of the current flush listed them, and the lastWriteAt it recorded. */
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

  private async write(
    claim: Claim,
    step: "progress" | "final",
    deadline: number,
    keepWriting: boolean,
  ): Promise<StepResult> {
    const { state, previousWriteAt } = claim;
    // The comments as this flush listed them, when no write of the run happened since (by anyone:
    // every write attempt moves lastWriteAt): a final summary there would have been seen.
    const listing = this.listing;
    const listed =
      listing?.runId === state.runId && listing.writeAt === previousWriteAt ? listing.comments : null;
    this.listing = null;
    const written = await writeStep(this.deps, this.leaseMs, { claim, step, deadline, keepWriting, listed });
    if (written.listing) this.listing = written.listing;
    return written.result;
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
