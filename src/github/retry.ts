/**
 * The retry policy: a pure decision per failed attempt, and the small loop that applies it.
 * Transient failures get short backoffs within the method's total budget; a rate limit is waited out once
 * when the wait is short; a POST that may have reached GitHub is never sent again.
 */

/** A failed attempt, as the policy sees it. */
export type AttemptFailure =
  /** 403/429 rate limit: GitHub lets us back in at `retryAt` (epoch ms). */
  | { type: "rate-limit"; retryAt: number }
  /** 5xx, dropped connection, timeout. `mayHaveApplied`: the request reached GitHub but no clean answer came back. */
  | { type: "transient"; mayHaveApplied: boolean }
  /** Anything retrying cannot fix (401, 403, 404, 422, unknown host...). */
  | { type: "final" };

export interface RetryState {
  method: string;
  /** Transient failures already retried for this request. */
  transientRetries: number;
  /** Rate-limit waits already spent in this method call. */
  rateLimitRetries: number;
  now: number;
  /** Epoch ms by which the method must be done. */
  deadline: number;
  /** A number in [0, 1) for the jitter. */
  random: number;
}

type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/** Backoff before each transient retry, ±25% jitter; their count is the number of retries. */
const TRANSIENT_DELAYS_MS = [200, 600] as const;
/** The longest rate-limit wait done in-process; longer ones go back to the caller as `retryAt`. */
const MAX_RATE_LIMIT_WAIT_MS = 3000;
/** An attempt is not started with less time than this left in the budget. */
const MIN_ATTEMPT_MS = 100;

/**
 * GitHub asks for a second at least between requests that change something (its guidance for mutative
 * requests; the run's writes keep it across processes): a write's retry waits that long, whatever the
 * backoff or a rate limit's retry-after says.
 */
const WRITE_SPACING_MS = 1000;
const MUTATING = new Set(["POST", "PATCH", "PUT", "DELETE"]);

/** Methods GitHub applies idempotently: resending one that may have been applied is harmless. */
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "PATCH", "DELETE"]);

export function decideRetry(failure: AttemptFailure, state: RetryState): RetryDecision {
  const left = state.deadline - state.now;
  const spacing = MUTATING.has(state.method) ? WRITE_SPACING_MS : 0;
  if (failure.type === "final") return { retry: false };
  if (failure.type === "rate-limit") {
    const wait = Math.max(spacing, failure.retryAt - state.now);
    const ok =
      state.rateLimitRetries === 0 && wait <= MAX_RATE_LIMIT_WAIT_MS && wait + MIN_ATTEMPT_MS <= left;
    return ok ? { retry: true, delayMs: wait } : { retry: false };
  }
  if (failure.mayHaveApplied && !IDEMPOTENT.has(state.method)) return { retry: false };
  const base = TRANSIENT_DELAYS_MS[state.transientRetries];
  if (base === undefined) return { retry: false };
  const delayMs = Math.max(spacing, Math.round(base * (0.75 + 0.5 * state.random)));
  return delayMs + MIN_ATTEMPT_MS <= left ? { retry: true, delayMs } : { retry: false };
}

/** Whether a failed write may still have been applied by GitHub (the caller must look before resending). */
export function isOutcomeUnknown(method: string, mayHaveApplied: boolean): boolean {
  return mayHaveApplied && method !== "GET" && method !== "HEAD";
}

/** Shared by every request of one method call (listComments makes several). */
export interface Budget {
  deadline: number;
  rateLimitRetries: number;
}

interface RetryLoop {
  method: string;
  budget: Budget;
  requestTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  classify: (error: unknown, now: number) => AttemptFailure;
  /** Builds the error thrown when the policy gives up. */
  giveUp: (error: unknown, info: GiveUpInfo) => unknown;
}

export interface GiveUpInfo {
  attempts: number;
  outcomeUnknown: boolean;
  /** The timeout of the last attempt. */
  timeoutMs: number;
  /** How long the request was tried in all, from its first attempt to giving up (waits included). */
  elapsedMs: number;
}

/** Runs `attempt` (given its timeout) until it succeeds or the policy gives up. At most 4 attempts. */
export async function withRetries<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  loop: RetryLoop,
): Promise<T> {
  let transientRetries = 0;
  let mayHaveApplied = false;
  const started = loop.now();
  for (let attempts = 1; ; attempts++) {
    const timeoutMs = Math.max(
      MIN_ATTEMPT_MS,
      Math.min(loop.requestTimeoutMs, loop.budget.deadline - loop.now()),
    );
    try {
      return await attempt(timeoutMs);
    } catch (error) {
      const now = loop.now();
      const failure = loop.classify(error, now);
      if (failure.type === "transient") mayHaveApplied ||= failure.mayHaveApplied;
      const decision = decideRetry(failure, {
        method: loop.method,
        transientRetries,
        rateLimitRetries: loop.budget.rateLimitRetries,
        now,
        deadline: loop.budget.deadline,
        random: loop.random(),
      });
      if (!decision.retry) {
        throw loop.giveUp(error, {
          attempts,
          outcomeUnknown: isOutcomeUnknown(loop.method, mayHaveApplied),
          timeoutMs,
          elapsedMs: now - started,
        });
      }
      if (failure.type === "rate-limit") loop.budget.rateLimitRetries++;
      else transientRetries++;
      await loop.sleep(decision.delayMs);
    }
  }
}
