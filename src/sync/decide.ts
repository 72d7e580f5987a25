import type { RunState } from "../model/types.js";
import { budgetDue, WRITE_BURST, WRITE_REFILL_MS } from "./budget.js";

/**
 * Whether a process may write to GitHub for this run now: the pure core of write coalescing.
 * Writes of one run are serialised across processes by a lease in the run state, spaced at least
 * `minIntervalMs` apart and kept within the run's write budget (budget.ts); a process that may not write
 * now learns when it may.
 */
export type WriteDecision =
  | { kind: "local" } // no GitHub sync for this run
  | { kind: "clean" } // the issue already shows the latest state (and the final summary, once due)
  | { kind: "backoff"; until: number } // GitHub failed or rate-limited: not before `until`
  | { kind: "busy"; until: number } // another process is writing
  | { kind: "wait"; until: number } // the next write is due at `until`
  | { kind: "write"; step: "progress" | "final" };

export function canSync(state: RunState): boolean {
  return state.github.syncEnabled && state.github.issueNumber !== null && state.github.repo !== null;
}

/**
 * Every post the issue lacks for this state, in the order they are written. An abandoned run (`init
 * --force`) gets no final summary: its progress comment, marked abandoned, is its last post.
 */
export function missingSteps(state: RunState): ("progress" | "final")[] {
  const steps: ("progress" | "final")[] = [];
  if (state.sync.postedSeq < state.seq) steps.push("progress");
  const finalized = state.completedAt !== null && !state.abandonedAt;
  if (finalized && state.sync.finalCommentId === null) steps.push("final");
  return steps;
}

/** What the issue lacks first: the latest progress body, then the final summary. */
export function pendingStep(state: RunState): "progress" | "final" | null {
  return missingSteps(state)[0] ?? null;
}

/**
 * Whether the progress comment must be written once more after `sync.settleUntil`: the lease was taken
 * over from a holder that never released it, whose last request may land after ours (issue 11).
 * Edit mode only: in append mode a late post is one more history comment, which a rewrite would not undo.
 */
export function settling(state: RunState): boolean {
  return state.sync.settleUntil > 0 && state.github.commentMode === "edit";
}

export function decideWrite(
  state: RunState,
  now: number,
  owner: string,
  ignoreBackoff = false,
): WriteDecision {
  if (!canSync(state)) return { kind: "local" };
  const missing = pendingStep(state);
  const step = missing ?? (settling(state) ? "progress" : null);
  if (step === null) return { kind: "clean" };
  const { sync } = state;
  // A rate limit is never ignored: hammering GitHub would only extend it.
  if ((sync.rateLimitedUntil ?? 0) > now) return { kind: "backoff", until: sync.rateLimitedUntil };
  if (!ignoreBackoff && sync.backoffUntil > now) return { kind: "backoff", until: sync.backoffUntil };
  if (sync.lease && sync.lease.owner !== owner && sync.lease.expiresAt > now) {
    return { kind: "busy", until: sync.lease.expiresAt };
  }
  const interval = sync.lastWriteAt + state.github.minIntervalMs;
  // finalize and retry (ignoreBackoff) write at once: a run's last writes may go past its budget.
  const paced = ignoreBackoff ? interval : Math.max(interval, budgetDue(sync.writeBudget, now));
  // Only the repeat is owed: not before the old holder's request can no longer land.
  const due = missing === null ? Math.max(paced, sync.settleUntil) : paced;
  if (due > now) return { kind: "wait", until: due };
  return { kind: "write", step };
}

/** How long to stay away after `failures` consecutive failures (without a retry-after from GitHub). */
export function backoffMs(failures: number, permanent: boolean): number {
  if (permanent) return 5 * 60_000;
  return Math.min(60_000, 2000 * 2 ** Math.max(0, failures - 1));
}

/**
 * Why the issue is not up to date although no write failed: GitHub asked to wait, the run's next write is
 * not due yet (a long --min-interval), another process is writing, or time ran out.
 */
export function waitReason(state: RunState, now: number, owner: string): string {
  if (state.sync.lastError) return state.sync.lastError;
  const decision = decideWrite(state, now, owner, true);
  if (decision.kind === "backoff" || state.sync.backoffUntil > now) {
    const until = Math.max(state.sync.rateLimitedUntil, state.sync.backoffUntil);
    return `GitHub asked to wait until ${new Date(until).toISOString()}`;
  }
  // The decision above ignores the budget (as finalize and retry do): it is the reason when it is the later.
  const budget = budgetDue(state.sync.writeBudget, now);
  const interval = decision.kind === "wait" ? decision.until : now;
  if ((decision.kind === "wait" || decision.kind === "write") && budget > interval) {
    return `the run's next write is due at ${new Date(budget).toISOString()} (within GitHub's limits, a run writes ${WRITE_BURST} times at most at once, then once every ${WRITE_REFILL_MS / 1000} s)`;
  }
  if (decision.kind === "wait") {
    return `the run's next write is due at ${new Date(decision.until).toISOString()} (writes of a run are at least ${state.github.minIntervalMs} ms apart: --min-interval, github.min_interval_ms)`;
  }
  if (decision.kind === "busy") {
    return `another process is writing to the issue (its lease ends at ${new Date(decision.until).toISOString()})`;
  }
  return "the issue could not be brought up to date in time";
}
