import { describe, expect, it } from "vitest";
import { waiterDeadline } from "../../src/cli/offline.js";

const MINUTE = 60_000;
const start = Date.UTC(2026, 0, 1, 12);

/** When the background writer that applies the changes kept during an outage leaves (pure). */
describe("waiterDeadline", () => {
  const first = start + 10 * MINUTE; // ten minutes after the waiter started

  it("gives a change kept late in the waiter's life its own ten minutes", () => {
    // Kept 9 min 50 s in (its own writer left it to this one): waited for until 19 min 50 s.
    const late = start + 9 * MINUTE + 50_000;
    expect(waiterDeadline(first, [start, late], null, late)).toBe(late + 10 * MINUTE);
  });

  it("keeps its deadline for changes kept earlier, and for none", () => {
    expect(waiterDeadline(first, [start - MINUTE], null, start)).toBe(first);
    expect(waiterDeadline(first, [], null, start)).toBe(first);
  });

  it("counts a change made in the future (a clock stepped back, a hand edit) as made now", () => {
    expect(waiterDeadline(first, [start + 365 * 24 * 60 * MINUTE], null, start + MINUTE)).toBe(
      first + MINUTE,
    );
  });

  it("stays past the end of a parent's wait for its children, by two ask-again waits", () => {
    const waitsUntil = start + 15 * MINUTE;
    expect(waiterDeadline(first, [], waitsUntil, start)).toBe(waitsUntil + 30_000);
  });

  it("is a number whatever a kept file held: a time that is not one counts for nothing", () => {
    const late = start + 9 * MINUTE;
    const odd = ["abc", undefined, null, Number.NaN, Number.POSITIVE_INFINITY] as unknown as number[];
    expect(waiterDeadline(first, odd, null, start)).toBe(first);
    expect(waiterDeadline(first, [...odd, late], null, late)).toBe(late + 10 * MINUTE);
    expect(waiterDeadline(first, odd, Number.NaN, start)).toBe(first);
    expect(waiterDeadline(Number.NaN, odd, null, start)).toBe(start);
  });
});
