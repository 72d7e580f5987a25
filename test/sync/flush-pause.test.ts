import { describe, expect, it } from "vitest";
import { flushPause } from "../../src/sync/flush.js";
import { WRITER_CLAIM_MS } from "../../src/sync/timings.js";

describe("flushPause", () => {
  const polled = { deadline: 100_000, notified: false };

  it("waits until the write falls due, in steps of at most a second without notifications", () => {
    expect(flushPause({ kind: "wait", until: 1300 }, 1000, 50_000, polled)).toBe(300);
    expect(flushPause({ kind: "backoff", until: 9000 }, 1000, 50_000, polled)).toBe(1000);
    expect(flushPause({ kind: "wait", until: 1000 }, 1000, 50_000, polled)).toBe(5);
  });

  it("polls a busy lease often, and with notifications waits for the next change or a claim renewal", () => {
    expect(flushPause({ kind: "busy", until: 9000 }, 1000, 50_000, polled)).toBe(100);
    const notified = { ...polled, notified: true };
    expect(flushPause({ kind: "busy", until: 61_000 }, 1000, 50_000, notified)).toBe(WRITER_CLAIM_MS / 3);
    expect(flushPause({ kind: "wait", until: 1300 }, 1000, 50_000, notified)).toBe(300);
  });

  it("stops for a write due after the deadline, or later than maxWaitMs (a busy lease: at the deadline)", () => {
    expect(flushPause({ kind: "wait", until: 3000 }, 1000, 99_000, polled)).toBeNull();
    expect(flushPause({ kind: "busy", until: 3000 }, 1000, 99_000, polled)).toBe(100);
    expect(flushPause({ kind: "busy", until: 3000 }, 1000, 100_000, polled)).toBeNull();
    const bounded = { ...polled, maxWaitMs: 500 };
    expect(flushPause({ kind: "backoff", until: 2000 }, 1000, 50_000, bounded)).toBeNull();
    expect(flushPause({ kind: "busy", until: 2000 }, 1000, 50_000, bounded)).toBe(100);
  });
});
