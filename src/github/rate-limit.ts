/** A rate-limit answer: when GitHub lets us back in (epoch ms), and why, for the message. */
export interface RateLimit {
  retryAt: number;
  reason: string;
}

/** GitHub's advice for a secondary rate limit without `retry-after`: wait at least a minute. */
const SECONDARY_DEFAULT_WAIT_MS = 60_000;

/**
 * The longest wait an answer is taken at: GitHub's primary limit resets within the hour. A reset or a
 * retry-after further away (a proxy's wrong Date header, a garbled value, one past what a date can hold)
 * would stop the run's writes, `finalize` and `retry` included, for as long: it is waited an hour at most.
 */
export const MAX_RATE_LIMIT_WAIT_MS = 60 * 60_000;

/**
 * Whether an error answer is a rate limit (primary or secondary), and until when. Pure.
 * Follows GitHub's documentation: `retry-after` (seconds or an HTTP date) wins; else
 * `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (epoch seconds); else a 429, or a 403 whose message
 * names a secondary rate limit (or says a rate limit was exceeded), means one minute.
 */
export function parseRateLimit(
  status: number,
  headers: Readonly<Record<string, string | number | undefined>>,
  message: string,
  now: number,
): RateLimit | null {
  const limit = rateLimitOf(status, headers, message, now);
  return limit && { ...limit, retryAt: Math.min(limit.retryAt, now + MAX_RATE_LIMIT_WAIT_MS) };
}

function rateLimitOf(
  status: number,
  headers: Readonly<Record<string, string | number | undefined>>,
  message: string,
  now: number,
): RateLimit | null {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = header(headers, "retry-after");
  if (retryAfter !== undefined) {
    const retryAt = parseRetryAfter(retryAfter, now, headers);
    if (retryAt !== null) return { retryAt, reason: `retry-after ${retryAfter}` };
  }
  const remaining = header(headers, "x-ratelimit-remaining");
  const reset = Number(header(headers, "x-ratelimit-reset"));
  if (remaining === "0") {
    const known = Number.isFinite(reset) && reset > 0;
    const retryAt = known ? onThisClock(reset * 1000, now, headers) : now + SECONDARY_DEFAULT_WAIT_MS;
    return { retryAt: Math.max(now, retryAt), reason: "x-ratelimit-remaining 0" };
  }
  if (status === 429 || /secondary rate limit|abuse detection/i.test(message)) {
    return { retryAt: now + SECONDARY_DEFAULT_WAIT_MS, reason: "secondary rate limit" };
  }
  // The primary limit's headers dropped on the way (a proxy, a gateway): GitHub's words still say it.
  if (/rate limit exceeded/i.test(message)) {
    return { retryAt: now + SECONDARY_DEFAULT_WAIT_MS, reason: "rate limit exceeded, no reset time given" };
  }
  return null;
}

function parseRetryAfter(
  value: string,
  now: number,
  headers: Readonly<Record<string, string | number | undefined>>,
): number | null {
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return now + Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(now, onThisClock(date, now, headers));
}

/**
 * How far this clock may be from the answer's Date header and still be taken as agreeing with GitHub's:
 * the header counts whole seconds and was written before the answer travelled, so a second or two between
 * them says nothing about the clocks (and would move a reset shown to the second by one).
 */
const CLOCKS_AGREE_MS = 5000;

/**
 * An instant GitHub names on its own clock (a reset, a retry-after date) on this one: as far from now as
 * it is from the answer's Date header, so a clock ahead of GitHub's or behind it waits what GitHub meant;
 * as given without a Date header, or when the two clocks agree (CLOCKS_AGREE_MS).
 */
function onThisClock(
  instant: number,
  now: number,
  headers: Readonly<Record<string, string | number | undefined>>,
): number {
  const served = Date.parse(header(headers, "date") ?? "");
  if (Number.isNaN(served) || Math.abs(now - served) < CLOCKS_AGREE_MS) return instant;
  return now + (instant - served);
}

function header(
  headers: Readonly<Record<string, string | number | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return value === undefined ? undefined : String(value).trim();
}
