import type { EventEmitter } from "node:events";
import type { AgentState, RunState } from "../model/types.js";
import type { StepResult } from "../sync/run-syncer.js";
import type { ReporterEvents, ReporterOptions } from "./types.js";

/** What a caller's listener threw. */
export type Thrown = { error: unknown };

const FINISH_EVENTS = {
  completed: "agentCompleted",
  failed: "agentFailed",
  cancelled: "agentCancelled",
} as const;

/**
 * The caller's listeners of a reporter (its events and `onWarning`). One that throws does not stop the
 * reporter's own work: its error is kept, for the call to throw once that work is done (the change saved,
 * its GitHub write done or queued), as EventEmitter would have thrown it from `emit`.
 */
export class Listeners {
  /** What a caller's warning listener threw, for the call at hand to throw when done (see warn()). */
  private listenerError: Thrown | null = null;
  /** The promises listeners returned (async ones) that have not settled yet: close() waits for them. */
  private readonly pending = new Set<Promise<void>>();
  /** The first error such a promise rejected with since the latest call was made (see callMade()). */
  private rejected: Thrown | null = null;

  constructor(
    private readonly events: EventEmitter<ReporterEvents>,
    private readonly options: ReporterOptions,
  ) {}

  /**
   * The "change" event for `next`, and the finish event of the agent the change is about (`before`: the
   * agent as it was) when it just reached completed, failed or cancelled: each event its own `emit`, so a
   * "change" listener that throws does not keep the finish event from its listeners. Returns what the
   * first listener that threw threw.
   */
  changed(next: RunState, before: AgentState | null = null): Thrown | null {
    const thrown = listenersOf(() => this.emit("change", next));
    const after = before && next.agents[before.agentId]!;
    if (!after || after.status === before!.status || !(after.status in FINISH_EVENTS)) return thrown;
    const finish = FINISH_EVENTS[after.status as keyof typeof FINISH_EVENTS];
    const finished = listenersOf(() => this.emit(finish, after, next));
    return thrown ?? finished;
  }

  /** The "sync" event: what the call's change did on GitHub. Returns what a listener threw. */
  synced(result: StepResult | null): Thrown | null {
    return result ? listenersOf(() => this.emit("sync", result)) : null;
  }

  /**
   * A warning to the caller's `onWarning` and `warning` listeners. One that throws does not stop the work
   * that warned (a write being queued, the background writer): its error is kept for the call at hand to
   * throw once its work is done (rethrow).
   */
  warn(message: string): void {
    const thrown = listenersOf(() => {
      this.options.onWarning?.(message);
      this.emit("warning", message);
    });
    if (thrown) this.keep(thrown.error);
  }

  /**
   * An error of a caller's listener outside a call's own notification (a warning of the background
   * writer, a listener's rejected promise once a call is made): kept, the first of them, for the next call
   * to throw once its work is done (rethrow).
   */
  private keep(error: unknown): void {
    markListeners(error);
    this.listenerError ??= { error };
  }

  /**
   * A call is made: it throws, once its work is done, what listeners' promises rejected with before it
   * (kept). Never the call that emitted, then: a promise settles after its listener returned, and
   * whether before the end of that call's work or after it would depend on its I/O.
   */
  callMade(): void {
    if (this.rejected) this.keep(this.rejected.error);
    this.rejected = null;
  }

  /**
   * Waits for the promises listeners returned that are still pending (their errors kept, for rethrow),
   * but not longer than `ms` (`sleep`: the reporter's): resolves to how many are still pending then.
   */
  async settled(ms: number, sleep: (ms: number, signal?: AbortSignal) => Promise<void>): Promise<number> {
    if (this.pending.size === 0) return 0;
    const stop = new AbortController();
    await Promise.race([Promise.all(this.pending), sleep(ms, stop.signal)]);
    stop.abort(); // the wait's timer goes: it would keep the process alive
    return this.pending.size;
  }

  /**
   * `emit` as EventEmitter's: the event's listeners as they are when it is emitted (one added meanwhile
   * hears the next one), in the order added, `once` ones removed as they are called, a throw ending it.
   * A promise a listener returns (an async listener's) is followed: its rejection is kept (never an
   * unhandled rejection), and close() waits for it.
   */
  private emit<K extends keyof ReporterEvents>(name: K, ...args: ReporterEvents[K]): void {
    const emitter = this.events as EventEmitter;
    for (const listener of emitter.rawListeners(name)) {
      const result: unknown = Reflect.apply(listener, emitter, args);
      if (isThenable(result)) this.follow(result);
    }
  }

  /** Keeps what `promise` rejects with, for the next call made (callMade); pending until it settles. */
  private follow(promise: PromiseLike<unknown>): void {
    const followed = Promise.resolve(promise).then(
      () => undefined,
      (error: unknown) => {
        markListeners(error);
        this.rejected ??= { error };
      },
    );
    this.pending.add(followed);
    void followed.then(() => this.pending.delete(followed));
  }

  /**
   * Throws what a listener threw during the call's work (`thrown`), else the error kept (a warning's, a
   * rejected promise's), which a call that throws its own keeps for the next call.
   */
  rethrow(thrown: Thrown | null = null): void {
    if (thrown) throw thrown.error;
    const kept = this.listenerError;
    this.listenerError = null;
    if (kept) throw kept.error;
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === "object" || typeof value === "function") &&
  value !== null &&
  typeof (value as { then?: unknown }).then === "function";

/** Runs the caller's listeners (an `emit`); returns what one threw, if one did. */
function listenersOf(emit: () => void): Thrown | null {
  try {
    emit();
    return null;
  } catch (error) {
    markListeners(error);
    return { error };
  }
}

/** Errors a caller's listener threw: the caller's own, which the reporter passes on as they are. */
const listeners = new WeakSet<object>();

function markListeners(error: unknown): void {
  if (typeof error === "object" && error !== null) listeners.add(error);
}

/** Whether a caller's listener threw `error` (see markListeners). */
export const thrownByListener = (error: unknown): boolean =>
  typeof error === "object" && error !== null && listeners.has(error);
