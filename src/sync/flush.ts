import { commandDeadline } from "./deadline.js";
import type { WriteDecision } from "./decide.js";
import type { StepOptions, StepResult, SyncDeps } from "./syncer-types.js";
import { WRITER_CLAIM_MS } from "./timings.js";
import type { Wakeup } from "./wakeup.js";

export interface FlushOptions {
  /** Epoch ms (this process's timer, SyncDeps.timer): no write starts after it. */
  deadline: number;
  ignoreBackoff?: boolean;
  asBackgroundWriter?: boolean;
  /** Give up rather than wait longer than this for one write to fall due. */
  maxWaitMs?: number;
  wakeup?: Wakeup;
  /** Stops the flush at its next wait (the library's `close()`). */
  signal?: AbortSignal;
}

/** One step (RunSyncer.step): a result that is not a write carries the store's clock at its decision. */
type Step = (options: StepOptions) => Promise<StepResult>;

/**
 * How long a flush waits before its next step after `decision` (made at `storeNow`, the store's clock;
 * `local`: this process's timer now), or null when it stops instead: the write falls due after the
 * deadline, or later than `maxWaitMs`.
 */
export function flushPause(
  decision: Extract<WriteDecision, { until: number }>,
  storeNow: number,
  local: number,
  options: Pick<FlushOptions, "deadline" | "maxWaitMs"> & { notified: boolean },
): number | null {
  const wait = Math.max(0, decision.until - storeNow);
  if (decision.kind === "busy" ? local >= options.deadline : local + wait > options.deadline) return null;
  if (decision.kind !== "busy" && wait > (options.maxWaitMs ?? Number.POSITIVE_INFINITY)) return null;
  // Until due or the next change; a background writer wakes every few seconds anyway to renew its claim.
  if (options.notified) return Math.max(5, Math.min(wait, WRITER_CLAIM_MS / 3));
  // No notifications here: poll a busy lease often (its holder usually finishes in milliseconds).
  const pause = decision.kind === "busy" ? Math.min(100, wait) : wait;
  return Math.max(5, Math.min(pause, 1000));
}

/**
 * Steps until the issue shows the latest state, waiting for writes to fall due (see RunSyncer.flush).
 * Returns the last step's result: a failure, or what it stopped at.
 */
export async function flushSteps(
  { timer, sleep }: Pick<SyncDeps, "timer" | "sleep">,
  step: Step,
  options: FlushOptions,
): Promise<StepResult> {
  let last: StepResult = { kind: "none", decision: null };
  for (let round = 0; round < 10_000 && !options.signal?.aborted; round++) {
    // No write is started once the deadline has passed: what is left is queued by the caller.
    if (timer.now() >= options.deadline) return last;
    last = await step({
      ignoreBackoff: options.ignoreBackoff ?? false,
      asBackgroundWriter: options.asBackgroundWriter ?? false,
      keepWriting: true,
      // Each write within the flush's own deadline, and no longer than a command's.
      deadline: Math.min(options.deadline, commandDeadline(timer.now())),
    });
    if (last.kind === "failed") return last;
    if (last.kind === "wrote") continue;
    const decision = last.decision;
    if (!decision || decision.kind === "local" || decision.kind === "clean") return last;
    const pause = flushPause(decision, last.now, timer.now(), {
      deadline: options.deadline,
      ...(options.maxWaitMs === undefined ? {} : { maxWaitMs: options.maxWaitMs }),
      notified: options.wakeup !== undefined,
    });
    if (pause === null) return last;
    if (options.wakeup) await options.wakeup.wait(pause);
    else await sleep(pause, options.signal);
  }
  return last;
}
