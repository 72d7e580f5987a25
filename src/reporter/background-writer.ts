import type { BackgroundWriterOptions } from "../sync/background-writer.js";
import { WRITE_REFILL_MS } from "../sync/budget.js";
import { canSync, missingSteps, waitReason } from "../sync/decide.js";
import { queueMissingOf } from "../sync/queueing.js";
import { WRITER_MAX_WAIT_MS } from "../sync/timings.js";
import type { ReporterCore } from "./core.js";
import { writeLastSynced } from "./task-settings.js";

/**
 * The library's background writer (a timer in the caller's process, which it keeps alive): it gives up
 * at its first failed write (the post is queued; the next call, `retry` or `finalize` sends it), on a
 * wait of more than 10 s (the write budget's refill: a busy run's writes are that far apart), and 15 s
 * after the reporter's latest change, so a script ends at most about 15 s
 * after its last call however GitHub behaves (`close()` ends it sooner), and one whose calls go on keeps
 * its writer. Only the detached CLI writer may wait longer.
 */
const TIMER_WRITER = { lifetimeMs: 15_000, maxFailures: 1, maxWaitMs: WRITE_REFILL_MS } as const;

/**
 * A background writer's life (the CLI's detached one, the library's timer one): writes until the issue is
 * up to date or it stops; a final summary it posted (a finalize that ran out of time left it) is recorded
 * in task.md as finalize records it.
 */
export async function writeInBackground(
  core: ReporterCore,
  options?: BackgroundWriterOptions,
): Promise<void> {
  const writer = core.actor();
  await writer.runBackgroundWriter(options);
  if (writer.postedFinal) await writeLastSynced(core);
}

/**
 * How a reporter hands off a write that is not due yet (ReporterOptions.flusher): to the caller's
 * function (the CLI's detached writer), or to the timer writer in this process, one at a time.
 */
export class TimerWriter {
  private timerWriter: Promise<void> | null = null;
  /** A start asked for while one is at work, which may be past its last look at the run: one more after it. */
  private again = false;
  /** When the latest start was asked for (the reporter's timer). */
  private askedAt = Number.NEGATIVE_INFINITY;
  /** Whether the last writer ended with work it may not have seen, and none ran after it (closed). */
  private leftOver = false;
  private readonly stopping = new AbortController();

  constructor(private readonly core: ReporterCore) {}

  /** Starts the background writer (the syncer's startBackgroundWriter): its process's pid, when known. */
  async start(): Promise<number | undefined> {
    const flusher = this.core.options.flusher ?? "timer";
    if (flusher !== "timer") {
      const started = (await flusher()) as { pid?: unknown } | null | undefined;
      return typeof started === "object" && started !== null && Number.isInteger(started.pid)
        ? (started.pid as number)
        : undefined;
    }
    if (this.stopping.signal.aborted) return undefined; // closed: what is not written is queued by close()
    this.askedAt = this.core.timer.now();
    if (this.timerWriter) {
      this.again = true;
      return process.pid;
    }
    this.timerWriter = this.run().finally(() => {
      this.timerWriter = null;
    });
    return process.pid;
  }

  /**
   * Writers one after the other, each living 15 s from the reporter's latest change (or start asked),
   * while changes come during one's work: one may come after its last look, from a call that found its
   * claim alive and started none. Nobody awaits them but flush() and close(): what stops one (a store
   * that does not answer) is a warning, never an unhandled rejection, which would end the caller's process.
   */
  private async run(): Promise<void> {
    for (;;) {
      this.again = false;
      const changes = this.core.changeCount;
      await writeInBackground(this.core, {
        ...TIMER_WRITER,
        lifeFrom: () => Math.max(this.core.lastChangeAt, this.askedAt),
        signal: this.stopping.signal,
      }).catch((error: unknown) => this.core.warn(stopped("the background writer stopped", error)));
      this.leftOver = this.again || this.core.changeCount !== changes;
      if (this.stopping.signal.aborted || !this.leftOver) return;
    }
  }

  /** Resolves once the timer writer is done (at once when none is at work). */
  async done(): Promise<void> {
    while (this.timerWriter) await this.timerWriter;
  }

  /**
   * flush(): the timer writer done, then what the issue still lacks queued. A writer that stops queues it
   * itself; this covers a write that no writer was started for, due later than one waits (a minimum
   * interval over a minute). Queued once: what the queue holds is not added again.
   */
  async flushed(): Promise<void> {
    await this.done();
    const state = await this.core.read();
    if (!state || !canSync(state) || missingSteps(state).length === 0) return;
    if (state.github.minIntervalMs <= WRITER_MAX_WAIT_MS) return; // a writer is started for every due write
    await queueMissingOf(this.core, state, waitReason(state, this.core.storeNow(), ""));
  }

  /**
   * close(): the timer writer stops at its next wait, what the issue still lacks is queued for `retry`,
   * and the store the reporter made is closed.
   */
  async close(): Promise<void> {
    const writer = this.timerWriter;
    this.stopping.abort();
    await this.done();
    const { state } = this.core;
    // A writer that stopped queued what the issue lacked then; close() queues it without one, or after
    // changes made while the last one worked (their calls found its claim alive and started none). A store
    // that fails here (a database down) is a warning, as when it stops the writer: the reporter is closed all
    // the same, and its own store too (a caller's cleanup after close() is not cut short).
    if ((!writer || this.leftOver) && state && canSync(state)) {
      await this.core
        .actor()
        .queueMissing("the reporter was closed before the issue was up to date")
        .catch((error: unknown) => this.core.warn(stopped("what the issue lacks was not queued", error)));
    }
    if (!this.core.options.store) await this.core.store.close();
  }
}

/** The warning for a store that failed under the background work: `what` happened, and why. */
function stopped(what: string, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `${what}: ${reason}; the next call, retry or finalize brings the issue up to date`;
}
