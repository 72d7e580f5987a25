import type { RunState } from "../model/types.js";
import { storeTime } from "../store/store-time.js";
import type { RunStore } from "../store/types.js";
import { OneAtATime } from "../util/one-at-a-time.js";
import { extendHistory, type History, type HistoryAppend, seedHistory } from "./history.js";
import { diffRows, type PageView, type RowChanges, type RowMemo, type RunInfo, toPageView } from "./view.js";

/** Where the live view gets the run: a store's location, reads and change notifications. */
export type RunSource = Pick<RunStore, "location" | "read" | "subscribe" | "now">;

/** How often the time-dependent parts (stalled marks, ETA) are computed again between changes. */
const RECOMPUTE_MS = 10_000;

/**
 * The waits before a failed read of the run is tried again (the last one repeated): a read that failed
 * (a permission revoked for a moment, the connections all taken) while the store's notifications still
 * come would otherwise show the failure until the next change. A run that a read no longer finds is read
 * again on the same schedule.
 */
const READ_RETRY_MS = [500, 1000, 2000, 5000, 10_000];

/**
 * Reads of the run start at least this far apart: a burst of changes (1,200 updates of a 200-agent run)
 * costs at most 20 reads a second, not one each, and a page still shows a change within about 50 ms.
 */
const READ_SPACING_MS = 50;

/** What the page is sent: everything (on connect, or a new run), a change, or a problem reading the run. */
export type LiveMessage =
  | { kind: "snapshot"; location: string; view: PageView | null; history: History | null }
  | { kind: "change"; run: RunInfo; rows: RowChanges; history: HistoryAppend }
  | { kind: "problem"; message: string };

/**
 * The run as the server last read it, kept up to date from the store's notifications, and the messages
 * that bring pages up to date. Reads are serialised and spaced (READ_SPACING_MS): a notification during a
 * read, or too soon after it, causes one more read after it, so the last change is always read and bursts
 * are coalesced.
 */
export class LiveRun {
  private state: RunState | null = null;
  private applied = false;
  private view: PageView | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private memo: RowMemo = new Map();
  private history: History | null = null;
  private readonly listeners = new Set<(message: LiveMessage) => void>();
  private stopSource: (() => Promise<void>) | null = null;
  private readonly reads = new OneAtATime(() => this.readOnce(), READ_SPACING_MS);
  private stopped = false;
  /** Why the run cannot be read now (the latest read failed), or null. */
  private readFailure: string | null = null;
  /** Failed reads in a row, and the timer that tries the next one. */
  private failedReads = 0;
  private retry: NodeJS.Timeout | null = null;
  /** The latest reads found no run where there was one: it is read again until seen (readAgainLater). */
  private lostSight = false;

  constructor(
    private readonly source: RunSource,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads the run once and starts listening to the store. */
  async start(): Promise<void> {
    this.stopSource = await this.source.subscribe(() => this.refresh());
    await this.refresh();
    this.ticker = setInterval(() => this.recompute(), RECOMPUTE_MS);
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const stop = this.stopSource;
    this.stopSource = null;
    await stop?.();
    // A read in progress is not waited for: on a database that stopped answering it ends only when the
    // store is closed (its sockets closed after a second), and what it reads is dropped (readOnce).
  }

  /** Why the latest read of the run failed, while it fails: what a page that connects now is told. */
  get problem(): string | null {
    return this.readFailure;
  }

  /** The latest state read, for callers that act on it (exit on finalize). */
  get current(): PageView | null {
    return this.view;
  }

  snapshot(): LiveMessage {
    return { kind: "snapshot", location: this.source.location, view: this.view, history: this.history };
  }

  /** Receives every message after the current snapshot; returns a function that stops it. */
  listen(listener: (message: LiveMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the run now (or right after the read in progress); resolves when that read is applied. */
  refresh(): Promise<void> {
    return this.reads.run();
  }

  private async readOnce(): Promise<void> {
    if (this.stopped) return;
    let state: RunState | null;
    try {
      state = await this.source.read();
    } catch (error) {
      if (this.stopped) return;
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.readFailure) this.emit({ kind: "problem", message });
      this.readFailure = message;
      this.readAgainLater();
      return;
    }
    if (this.stopped) return;
    const recovered = this.readFailure !== null;
    this.readFailure = null;
    // A run it saw and no longer finds (a database role's grant revoked): no notification may come when it
    // can be seen again (a grant given back), so it is read again on a failed read's schedule until then.
    const lostSight = state === null && (this.state !== null || this.lostSight);
    this.lostSight = lostSight;
    if (lostSight) this.readAgainLater();
    else this.failedReads = 0;
    this.state = state;
    this.apply(recovered);
  }

  /**
   * After a failed read, or one that lost sight of the run: another one later (READ_RETRY_MS), unless one is
   * due already or the view stopped.
   */
  private readAgainLater(): void {
    if (this.retry || this.stopped) return;
    const wait = READ_RETRY_MS[Math.min(this.failedReads++, READ_RETRY_MS.length - 1)]!;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.refresh();
    }, wait);
    this.retry.unref();
  }

  /**
   * Computes the view again from the state last read, at the current time: what depends on the time alone
   * (stalled marks, the ETA) moves on between changes. Called on a timer while the run goes on.
   */
  recompute(): void {
    if (this.state && this.state.completedAt === null && !this.reads.busy && this.readFailure === null)
      this.apply(false);
  }

  /** Sends pages what differs from what they have: a snapshot for a new run, else the changed parts. */
  private apply(always: boolean): void {
    const view = this.state ? toPageView(this.state, storeTime(this.source, this.now)) : null;
    if (!view && !this.view && this.applied && !always) return; // still no run
    this.applied = true;
    if (!view || !this.view || !this.history || view.run.runId !== this.view.run.runId) {
      // No run, a run appears, or a new run replaced the old one: pages start over from a snapshot.
      this.view = view;
      this.memo = diffRows(new Map(), view?.agents ?? []).memo;
      this.history = view ? seedHistory(view) : null;
      this.emit(this.snapshot());
      return;
    }
    const { changes, memo } = diffRows(this.memo, view.agents);
    const sameRun = JSON.stringify({ ...view.run, at: 0 }) === JSON.stringify({ ...this.view.run, at: 0 });
    const sameRows = changes.changed.length === 0 && changes.removed.length === 0 && changes.order === null;
    if (sameRun && sameRows && !always) return; // e.g. a notification of a change already read
    const history = extendHistory(this.history, view);
    this.view = view;
    this.memo = memo;
    this.emit({ kind: "change", run: view.run, rows: changes, history });
  }

  private emit(message: LiveMessage): void {
    for (const listener of this.listeners) listener(message);
  }
}
