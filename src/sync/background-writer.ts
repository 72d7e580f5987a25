import { StoreUnavailableError } from "../errors.js";
import { askAgainMs } from "../util/sleep.js";
import type { FlushOptions } from "./flush.js";
import { releaseHeld } from "./leases.js";
import type { StepResult, SyncDeps } from "./syncer-types.js";
import { WRITER_CLAIM_MS, WRITER_MAX_WAIT_MS } from "./timings.js";
import { Wakeup } from "./wakeup.js";

/** How long a background writer lives (see `runBackgroundWriter`). */
export interface BackgroundWriterOptions {
  lifetimeMs?: number;
  /**
   * When its life counts from, asked at each look (its timer, SyncDeps.timer; default: its start): the library's timer
   * writer lives on from its reporter's latest change while the reporter's calls go on.
   */
  lifeFrom?: () => number;
  maxFailures?: number;
  maxWaitMs?: number;
  /** Ends it at its next wait (the library's `close()`). */
  signal?: AbortSignal;
}

/** What the background writer does through the syncer. */
interface Writer {
  flush(options: FlushOptions): Promise<StepResult>;
  queueMissing(reason: string): Promise<string[]>;
}

/**
 * The background writer's whole life: write until clean; give up after a permanent failure, `maxFailures`
 * transient ones (default 3), a wait of over `maxWaitMs` (default a minute), `lifetimeMs` (default 10
 * minutes, from its start or `lifeFrom`) or an abort; a database that stops answering is asked again
 * (askAgainMs) until then. Later commands start a new one when needed. What
 * it leaves unwritten is queued (a failed write's post already is), so the queue says what the issue
 * lacks. It waits on the store's notifications and its own due times, never in a sleep loop: a change by
 * any process, or a lease released anywhere, wakes it.
 */
export async function runBackgroundWriter(
  deps: Pick<SyncDeps, "store" | "timer" | "owner" | "sleep" | "writers">,
  writer: Writer,
  options: BackgroundWriterOptions = {},
): Promise<void> {
  const { lifetimeMs = 10 * 60_000, maxFailures = 3, maxWaitMs = WRITER_MAX_WAIT_MS, signal } = options;
  // Its life, deadlines and waits on the timer: a frozen injected clock does not keep it (or its process) alive.
  const { store, timer, owner } = deps;
  const wakeup = new Wakeup(deps.sleep);
  signal?.addEventListener("abort", wakeup.notify, { once: true });
  // Without notifications (a watcher limit reached) the due times still hold; only a busy lease is seen later.
  const unsubscribe = await store.subscribe(wakeup.notify).catch(() => null);
  try {
    const started = timer.now();
    const endOfLife = () => (options.lifeFrom?.() ?? started) + lifetimeMs;
    // Takes over the claim made for it (or makes one): a live claim, renewed while this process runs.
    await store.transact((current, now) =>
      current
        ? {
            next: {
              ...current,
              sync: {
                ...current.sync,
                flusher: { owner, expiresAt: now + WRITER_CLAIM_MS, ...deps.writers?.mark() },
              },
            },
            result: 0,
          }
        : { result: 0 },
    );
    let failures = 0;
    let storeFailures = 0;
    while (timer.now() < endOfLife() && failures < maxFailures && !signal?.aborted) {
      // A long back-off (a permanent error such as 401, or a long rate limit) is left to later commands,
      // which may run with other credentials: this process could only wait with the ones it was given.
      const deadline = endOfLife();
      let result: StepResult;
      try {
        result = await writer.flush({
          deadline,
          asBackgroundWriter: true,
          maxWaitMs,
          wakeup,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        // The database stopped answering (a restart, a failover, a dropped connection): what the issue
        // lacks can be neither written nor queued without it, and the claim this writer holds kept other
        // calls from starting one: it asks again until it answers, or its life ends.
        if (!(error instanceof StoreUnavailableError)) throw error;
        const wait = askAgainMs(storeFailures++);
        if (timer.now() + wait >= endOfLife()) throw error;
        await deps.sleep(wait, signal);
        continue;
      }
      storeFailures = 0;
      if (result.kind === "failed") {
        if (!result.error.transient) break;
        failures++;
        continue;
      }
      // Closed, or out of time (the flush returns early then, whatever it last saw).
      if (signal?.aborted || timer.now() >= endOfLife()) break;
      if (result.kind !== "none") continue;
      const decision = result.decision;
      if (!decision || decision.kind === "clean" || decision.kind === "local") {
        return; // the record was cleared in the same transaction that saw nothing left to write
      }
      // Stopped at its end of life, which a change moved while it looked: look again (a write due later
      // than it waits stops the next look at once, with the new end).
      if (endOfLife() > deadline) continue;
      break; // the next write is due later than this process may wait
    }
    // The claim first: a change made after this look claims a writer of its own, and one made before it is
    // in what is queued next (a change that saw the claim alive started none).
    await releaseHeld(store, "flusher", owner);
    await writer.queueMissing("the background writer stopped before the issue was up to date");
  } finally {
    signal?.removeEventListener("abort", wakeup.notify);
    await unsubscribe?.();
  }
}
