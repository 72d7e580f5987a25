import { describe, expect, it } from "vitest";
import {
  type AttemptFailure,
  type Budget,
  decideRetry,
  isOutcomeUnknown,
  type RetryState,
  withRetries,
} from "../../src/github/retry.js";

const NOW = 1_000_000;
const state = (overrides: Partial<RetryState> = {}): RetryState => ({
  method: "GET",
  transientRetries: 0,
  rateLimitRetries: 0,
  now: NOW,
  deadline: NOW + 10_000,
  random: 0.5,
  ...overrides,
});
const transient = (mayHaveApplied: boolean): AttemptFailure => ({ type: "transient", mayHaveApplied });

describe("decideRetry", () => {
  it("retries transient failures twice with 200 and 600 ms (±25% jitter)", () => {
    expect(decideRetry(transient(true), state())).toEqual({ retry: true, delayMs: 200 });
    expect(decideRetry(transient(true), state({ transientRetries: 1 }))).toEqual({
      retry: true,
      delayMs: 600,
    });
    expect(decideRetry(transient(true), state({ transientRetries: 2 }))).toEqual({ retry: false });
    expect(decideRetry(transient(false), state({ random: 0 }))).toEqual({ retry: true, delayMs: 150 });
    expect(decideRetry(transient(false), state({ random: 0.999999 }))).toEqual({ retry: true, delayMs: 250 });
  });

  it("never resends a POST that may have been applied, but resends one that never left", () => {
    expect(decideRetry(transient(true), state({ method: "POST" }))).toEqual({ retry: false });
    // A second at least before a write is sent again (GitHub's guidance for requests that change something).
    expect(decideRetry(transient(false), state({ method: "POST" }))).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(transient(true), state({ method: "PATCH" })).retry).toBe(true);
    expect(decideRetry(transient(true), state({ method: "DELETE" })).retry).toBe(true);
  });

  it("waits a second at least before sending a write again, a rate limit's retry-after of 0 included", () => {
    expect(decideRetry(transient(false), state({ method: "PATCH" }))).toEqual({ retry: true, delayMs: 1000 });
    const now = { type: "rate-limit", retryAt: NOW } as const;
    expect(decideRetry(now, state({ method: "PATCH" }))).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(now, state({ method: "GET" }))).toEqual({ retry: true, delayMs: 0 });
  });

  it("does not retry when the backoff and a useful attempt do not fit in the budget", () => {
    expect(decideRetry(transient(false), state({ deadline: NOW + 299 }))).toEqual({ retry: false });
    expect(decideRetry(transient(false), state({ deadline: NOW + 300 }))).toEqual({
      retry: true,
      delayMs: 200,
    });
  });

  it("never retries final failures", () => {
    expect(decideRetry({ type: "final" }, state())).toEqual({ retry: false });
  });

  it("waits out a rate limit of at most 3 s, once, within the budget", () => {
    const limit = (ms: number): AttemptFailure => ({ type: "rate-limit", retryAt: NOW + ms });
    expect(decideRetry(limit(3000), state())).toEqual({ retry: true, delayMs: 3000 });
    expect(decideRetry(limit(-500), state())).toEqual({ retry: true, delayMs: 0 });
    expect(decideRetry(limit(3001), state())).toEqual({ retry: false });
    expect(decideRetry(limit(1000), state({ rateLimitRetries: 1 }))).toEqual({ retry: false });
    expect(decideRetry(limit(1000), state({ deadline: NOW + 1050 }))).toEqual({ retry: false });
  });
});

describe("isOutcomeUnknown", () => {
  it("is true only for writes that may have been applied", () => {
    expect(isOutcomeUnknown("POST", true)).toBe(true);
    expect(isOutcomeUnknown("PATCH", true)).toBe(true);
    expect(isOutcomeUnknown("POST", false)).toBe(false);
    expect(isOutcomeUnknown("GET", true)).toBe(false);
  });
});

describe("withRetries", () => {
  const loop = (
    method: string,
    classify: (error: unknown) => AttemptFailure,
    budget: Budget,
    sleeps: number[],
  ) => ({
    method,
    budget,
    requestTimeoutMs: 8000,
    now: () => NOW,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    classify,
    giveUp: (error: unknown, info: object) => ({ error, ...info }),
  });

  it("stops after at most four attempts and reports what happened", async () => {
    const sleeps: number[] = [];
    const failures: AttemptFailure[] = [
      { type: "rate-limit", retryAt: NOW + 1000 },
      transient(true),
      transient(false),
      transient(false),
    ];
    let calls = 0;
    const budget = { deadline: NOW + 10_000, rateLimitRetries: 0 };
    const thrown = await withRetries(
      async () => {
        calls++;
        throw calls;
      },
      loop("PATCH", (error) => failures[(error as number) - 1] ?? { type: "final" }, budget, sleeps),
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(sleeps).toEqual([1000, 1000, 1000]); // a write is sent again a second later at the soonest
    expect(thrown).toEqual({ error: 4, attempts: 4, outcomeUnknown: true, timeoutMs: 8000, elapsedMs: 0 });
    expect(budget.rateLimitRetries).toBe(1);
  });

  it("gives each attempt the time left in the budget, at least 100 ms", async () => {
    const timeouts: number[] = [];
    const budget = { deadline: NOW + 50, rateLimitRetries: 0 };
    const result = await withRetries(
      async (timeoutMs) => {
        timeouts.push(timeoutMs);
        return "ok";
      },
      loop("GET", () => ({ type: "final" }), budget, []),
    );
    expect(result).toBe("ok");
    expect(timeouts).toEqual([100]);
  });
  it("reports the whole time the request was tried, not the last attempt's timeout", async () => {
    let now = NOW;
    const budget = { deadline: NOW + 10_000, rateLimitRetries: 0 };
    const timeouts: number[] = [];
    const thrown = await withRetries(
      async (timeoutMs) => {
        timeouts.push(timeoutMs);
        now += timeoutMs; // each attempt times out
        throw new Error("timeout");
      },
      {
        ...loop("GET", () => transient(false), budget, []),
        now: () => now,
        sleep: async (ms: number) => {
          now += ms;
        },
      },
    ).catch((e: unknown) => e);
    expect(timeouts).toEqual([8000, 1800]); // the second gets what is left after the 200 ms pause
    expect(thrown).toMatchObject({ attempts: 2, timeoutMs: 1800, elapsedMs: 10_000 });
  });
});
