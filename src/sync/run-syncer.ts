import type { RunState } from "../model/types.js";
import { type BackgroundWriterOptions, runBackgroundWriter } from "./background-writer.js";
import { claimWrite, claimWriterForLaterWrite, withoutGoneWriter } from "./claim.js";
import { commandDeadline } from "./deadline.js";
import { type FlushOptions, flushSteps } from "./flush.js";
import { startWriterOf } from "./local-writer.js";
import type { RequestTimes } from "./pacer.js";
import { queueMissing } from "./queueing.js";
import type { Claim, Listing, StepOptions, StepResult, SyncDeps } from "./syncer-types.js";
import { DEFAULT_LEASE_MS } from "./timings.js";
import { writeStep } from "./write-step.js";

export type { Claim, StepResult, SyncDeps } from "./syncer-types.js";

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
  /** This syncer wrote the run's final summary (or found it on the issue and recorded it). */
  postedFinal = false;
  /**
   * `requests`: when this reporter's last GitHub request ended (shared by its syncers): a write keeps the
   * interval from it even when the store could not record that request's write nor release its lease (the
   * database went down): the lease stays this syncer's with lastWriteAt at that write's start, so its next
   * step (a flush writing on) could otherwise write again at once. The queue's retry writes with it too, so
   * its posts and the run's keep the interval between them.
   */
  constructor(
    readonly deps: SyncDeps,
    readonly requests: RequestTimes = { lastEndedAt: Number.NEGATIVE_INFINITY },
  ) {
    this.leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** The write decision for `current`, made inside a store transaction (see claimWrite). */
  claim(current: RunState, now: number, options: StepOptions = {}): Claim {
    const { writers } = this.deps;
    return claimWrite(
      withoutGoneWriter(current, writers),
      now,
      this.deps.owner,
      this.leaseMs,
      options,
      writers,
    );
  }

  /**
   * Acts on a claim made in a transaction: starts the background writer it claimed (or a standby), or does
   * the write it won, giving up at `deadline` (the command's, on this process's timer: not the store's clock).
   * `keepWriting`: the caller writes on until the issue is up to date (see StepOptions).
   */
  async act(claim: Claim, deadline: number, keepWriting = false): Promise<StepResult> {
    await startWriterOf(this.deps, { claimed: claim.claimBackgroundWriter, standby: claim.standbyWriter });
    const { decision } = claim;
    if (decision.kind !== "write") return { kind: "none", decision, now: claim.now };
    return this.write(claim, decision.step, deadline, keepWriting);
  }

  /** One decision, and at most one write (or a few, when converging duplicates). */
  async step(options: StepOptions = {}): Promise<StepResult> {
    const claim = await this.deps.store.transact((current, now) => {
      if (!current) return { result: null };
      const made = this.claim(current, now, options);
      return { next: made.state === current ? undefined : made.state, result: made };
    });
    if (!claim || claim.writerLost) return { kind: "none", decision: null };
    const deadline = options.deadline ?? commandDeadline(this.deps.timer.now());
    return this.act(claim, deadline, options.keepWriting ?? false);
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
    const written = await writeStep(this.deps, this.leaseMs, {
      claim,
      step,
      deadline,
      keepWriting,
      listed,
      requests: this.requests,
    });
    if (written.listing) this.listing = written.listing;
    if (written.result.kind === "wrote" && step === "final") this.postedFinal = true;
    return written.result;
  }

  /** Records that a body of this run's `seq` is on the issue (a history comment replayed from the queue). */
  async markPosted(runId: string, seq: number): Promise<void> {
    await this.deps.store.transact((current) => {
      if (!current || current.runId !== runId || current.sync.postedSeq >= seq) return { result: undefined };
      return { next: { ...current, sync: { ...current.sync, postedSeq: seq } }, result: undefined };
    });
  }

  /** Queues every post the issue still lacks that the queue does not hold yet (see queueing.ts). */
  async queueMissing(reason: string): Promise<string[]> {
    return queueMissing(this.deps, reason);
  }

  /**
   * Claims and starts a background writer when the issue owes a write that only time makes due (the
   * repeat after settleUntil, or a create held until an unanswered one can no longer land) and none is
   * alive, or a standby beside another machine's live one: finalize and retry end before such a wait, and
   * nobody else may come.
   */
  async ensureBackgroundWriter(): Promise<void> {
    const { owner, writers } = this.deps;
    const started = await this.deps.store.transact((current, now) => {
      const claim = current
        ? claimWriterForLaterWrite(withoutGoneWriter(current, writers), now, owner, writers)
        : null;
      if (!current || !claim) return { result: { claimed: false, standby: false } };
      return { next: claim.claimed ? { ...current, sync: claim.sync } : undefined, result: claim };
    });
    await startWriterOf(this.deps, started);
  }

  /**
   * Writes until the issue shows the latest state (and the final summary, once finalized), waiting for
   * writes to fall due, until `deadline` (this process's timer). Stops at the first failure: the post is
   * queued by then. With `wakeup` (the store's notifications), a wait also ends at the next change, so a
   * busy lease is followed as soon as its holder releases it rather than by polling.
   */
  async flush(options: FlushOptions): Promise<StepResult> {
    this.listing = null;
    try {
      return await flushSteps(this.deps, (stepOptions) => this.step(stepOptions), options);
    } finally {
      this.listing = null;
    }
  }

  /** The background writer's whole life (see runBackgroundWriter in background-writer.ts). */
  runBackgroundWriter(options: BackgroundWriterOptions = {}): Promise<void> {
    return runBackgroundWriter(this.deps, this, options);
  }
}
