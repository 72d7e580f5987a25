import { describe, expect, it } from "vitest";
import { parseRateLimit } from "../../src/github/rate-limit.js";

const NOW = Date.parse("2025-10-19T16:30:00Z");

describe("parseRateLimit", () => {
  it("reads retry-after in seconds or as an HTTP date", () => {
    expect(parseRateLimit(429, { "retry-after": "60" }, "", NOW)).toEqual({
      retryAt: NOW + 60_000,
      reason: "retry-after 60",
    });
    const date = new Date(NOW + 5000).toUTCString();
    expect(parseRateLimit(403, { "retry-after": date }, "", NOW)?.retryAt).toBe(NOW + 5000);
  });

  it("waits an hour at most: a reset or retry-after further away (or past what a date holds) is capped", () => {
    const huge = "99999999999999999999";
    const hour = NOW + 60 * 60_000;
    expect(parseRateLimit(429, { "retry-after": huge }, "", NOW)?.retryAt).toBe(hour);
    const reset = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": huge };
    expect(parseRateLimit(403, reset, "", NOW)?.retryAt).toBe(hour);
    const tenYears = String(NOW / 1000 + 10 * 365 * 86_400);
    expect(parseRateLimit(403, { ...reset, "x-ratelimit-reset": tenYears }, "", NOW)?.retryAt).toBe(hour);
    // A proxy's Date header years behind makes a reset look that far away: capped too.
    const skewed = {
      ...reset,
      "x-ratelimit-reset": String(NOW / 1000 + 30),
      date: "Mon, 01 Jan 2001 00:00:00 GMT",
    };
    expect(parseRateLimit(403, skewed, "", NOW)?.retryAt).toBe(hour);
  });

  it("reads x-ratelimit-remaining 0 with x-ratelimit-reset (epoch seconds)", () => {
    const headers = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(NOW / 1000 + 30) };
    expect(parseRateLimit(403, headers, "API rate limit exceeded", NOW)).toEqual({
      retryAt: NOW + 30_000,
      reason: "x-ratelimit-remaining 0",
    });
    expect(
      parseRateLimit(403, { ...headers, "x-ratelimit-reset": String(NOW / 1000 - 5) }, "", NOW)?.retryAt,
    ).toBe(NOW);
  });

  // A clock ahead of GitHub's sees the reset as past while GitHub still refuses: retrying at once, and
  // recording no back-off at all, every later call would hit the limit again. GitHub's own Date header
  // says how long is left.
  it("reads a reset that looks past on a clock ahead of GitHub's against GitHub's Date header", () => {
    const gitHubNow = NOW - 180_000; // this machine's clock is 3 minutes ahead
    const headers = {
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": String((gitHubNow + 60_000) / 1000),
      date: new Date(gitHubNow).toUTCString(),
    };
    expect(parseRateLimit(403, headers, "API rate limit exceeded", NOW)?.retryAt).toBe(NOW + 60_000);
    // GitHub's clock past the reset too: the window just turned, try again now.
    const turned = { ...headers, date: new Date(gitHubNow + 61_000).toUTCString() };
    expect(parseRateLimit(403, turned, "API rate limit exceeded", NOW)?.retryAt).toBe(NOW);
  });

  // A clock behind GitHub's would read a reset a minute ahead as four minutes away, and an HTTP-date
  // retry-after too: both are read against the Date header whichever way the clocks differ.
  it("reads GitHub's times against its Date header on a clock behind GitHub's too", () => {
    const gitHubNow = NOW + 180_000; // this machine's clock is 3 minutes behind
    const date = new Date(gitHubNow).toUTCString();
    const reset = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String((gitHubNow + 60_000) / 1000) };
    expect(parseRateLimit(403, { ...reset, date }, "", NOW)?.retryAt).toBe(NOW + 60_000);
    const retryAfter = { "retry-after": new Date(gitHubNow + 30_000).toUTCString(), date };
    expect(parseRateLimit(429, retryAfter, "", NOW)?.retryAt).toBe(NOW + 30_000);
    // Without a Date header, as given.
    expect(parseRateLimit(403, reset, "", NOW)?.retryAt).toBe(gitHubNow + 60_000);
  });

  // The Date header counts whole seconds and left GitHub before the answer arrived: read against it, a
  // reset shown to the second moved by one now and then, though the clocks agreed.
  it("takes the reset as given when this clock is within a few seconds of the Date header", () => {
    const reset = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(NOW / 1000 + 3600) };
    for (const behind of [0, 999, 1800, 3500]) {
      const date = new Date(NOW - behind).toUTCString();
      expect(parseRateLimit(403, { ...reset, date }, "", NOW)?.retryAt, `${behind}`).toBe(NOW + 3_600_000);
    }
  });

  it("treats a 429 or a secondary-rate-limit message as one minute", () => {
    expect(parseRateLimit(429, {}, "", NOW)?.retryAt).toBe(NOW + 60_000);
    expect(parseRateLimit(403, {}, "You have exceeded a secondary rate limit.", NOW)?.reason).toBe(
      "secondary rate limit",
    );
  });

  // A proxy or gateway in between may drop the x-ratelimit-* headers; GitHub's words still say what it is.
  it("reads a 403 that says the primary rate limit was exceeded, without its headers, as one minute", () => {
    expect(parseRateLimit(403, {}, "API rate limit exceeded for user ID 1.", NOW)).toEqual({
      retryAt: NOW + 60_000,
      reason: "rate limit exceeded, no reset time given",
    });
  });

  it("is null for other answers", () => {
    expect(
      parseRateLimit(403, { "x-ratelimit-remaining": "12" }, "Resource not accessible by integration", NOW),
    ).toBeNull();
    expect(parseRateLimit(500, { "retry-after": "1" }, "", NOW)).toBeNull();
    expect(parseRateLimit(404, {}, "Not Found", NOW)).toBeNull();
  });
});
