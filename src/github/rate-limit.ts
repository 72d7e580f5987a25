/** A rate-limit answer: when GitHub lets us back in (epoch ms), and why, for the message. */
export interface RateLimit {
  retryAt: number;
  reason: string;
}

/** GitHub's advice for a secondary rate limit without `retry-after`: wait at least a minute. */
const SECONDARY_DEFAULT_WAIT_MS = 60_000;

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
  if (status !== 403 && status !== 429) return null;
  const retryAfter = header(headers, "retry-after");
  if (retryAfter !== undefined) {
    const retryAt = parseRetryAfter(retryAfter, now);
    if (retryAt !== null) return { retryAt, reason: `retry-after ${retryAfter}` };
  }
  const remaining = header(headers, "x-ratelimit-remaining");
  const reset = Number(header(headers, "x-ratelimit-reset"));
  if (remaining === "0") {
    const known = Number.isFinite(reset) && reset > 0;
    let retryAt = known ? reset * 1000 : now + SECONDARY_DEFAULT_WAIT_MS;
    if (known && retryAt <= now) {
      // Past on this clock, yet GitHub refused: this clock may be ahead of GitHub's. What is left of the
      // window is read on GitHub's own clock (its Date header), else the reset has just passed.
      const served = Date.parse(header(headers, "date") ?? "");
      if (!Number.isNaN(served) && retryAt > served) retryAt = now + (retryAt - served);
    }
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

function parseRetryAfter(value: string, now: number): number | null {
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return now + Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(now, date);
}

function header(
  headers: Readonly<Record<string, string | number | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  return value === undefined ? undefined : String(value).trim();
}
