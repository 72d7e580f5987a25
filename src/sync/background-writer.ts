import { StoreUnavailableError } from "../errors.js";
import type { RunState } from "../model/types.js";
import { askAgainMs } from "../util/sleep.js";
import { withoutGoneWriter, writerOwed } from "./claim.js";
import { decideWrite } from "./decide.js";
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
  /**
   * It stands by beside another machine's live background writer (claim.ts: standbyOwed) rather than take
   * that writer's claim at its start: see standBy.
   */
  standby?: boolean;
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
  const started = timer.now();
  const endOfLife = () => (options.lifeFrom?.() ?? started) + lifetimeMs;
  if (options.standby && !(await standBy(deps, endOfLife, signal))) return;
  const wakeup = new Wakeup(deps.sleep);
  signal?.addEventListener("abort", wakeup.notify, { once: true });
  // Without notifications (a watcher limit reached) the due times still hold; only a busy lease is seen later.
  const unsubscribe = await store.subscribe(wakeup.notify).catch(() => null);
  try {
    // Takes over the claim made for it (or makes one): a live claim, renewed while this process runs.
    await store.transact((current, now) =>
      current ? { next: withClaimOf(current, deps, now), result: 0 } : { result: 0 },
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

/** `current` with the background writer's claim `deps.owner`'s, live for WRITER_CLAIM_MS from `now`. */
function withClaimOf(current: RunState, deps: Pick<SyncDeps, "owner" | "writers">, now: number): RunState {
  const flusher = { owner: deps.owner, expiresAt: now + WRITER_CLAIM_MS, ...deps.writers?.mark() };
  return { ...current, sync: { ...current.sync, flusher } };
}

/**
 * A standby's wait beside another machine's live background writer, whose death this machine cannot see
 * (claim.ts: standbyOwed): it looks when that writer's claim would expire, and at each look ends when no
 * write is left to a background writer (the issue shows the latest state, or the next write is due later
 * than one waits), or takes the claim over once it has expired (or is cleared), and is the writer from then
 * on (true). A live writer renews its claim every 5 s, so the standby never writes while it lives. It
 * holds no notifications meanwhile (one database connection, which the pool closes when idle for 10 s):
 * it ends at its first look after the issue is up to date, about 15 s at most. False: it ends (its
 * life over, closed, nothing owed, or no run).
 */
async function standBy(
  deps: Pick<SyncDeps, "store" | "timer" | "owner" | "sleep" | "writers">,
  endOfLife: () => number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const { timer, owner } = deps;
  while (timer.now() < endOfLife() && !signal?.aborted) {
    // How long the live claim lasts yet (store clock), 0 once taken over, null when nothing is owed.
    const left = await deps.store.transact<number | null>((read, now) => {
      if (!read) return { result: null };
      const current = withoutGoneWriter(read, deps.writers);
      if (!writerOwed(decideWrite(current, now, owner), now)) return { result: null };
      const { flusher } = current.sync;
      if (flusher && flusher.owner !== owner && flusher.expiresAt > now) {
        return { result: flusher.expiresAt - now };
      }
      return { next: withClaimOf(current, deps, now), result: 0 };
    });
    if (left === null) return false;
    if (left === 0) return true;
    // Just past the expiry: the next look finds it expired, or renewed by a live writer.
    await deps.sleep(Math.min(left + STANDBY_LOOK_AFTER_MS, endOfLife() - timer.now()), signal);
  }
  return false;
}

/** How long after the claim's expiry a standby looks (the two clocks' ticks apart). */
const STANDBY_LOOK_AFTER_MS = 50;
