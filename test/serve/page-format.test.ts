import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatUsd } from "../../src/model/metrics.js";
import { formatDuration } from "../../src/model/progress.js";
import { dollars, formatDuration as pageDuration } from "../../web/format.js";

// The page (web/format.js, plain JavaScript served as it is) writes amounts and durations again, as the
// comment does (src/model): these hold the two to the same text.
describe("the page writes amounts and durations as the comment does", () => {
  it("dollars: rounded half up to the cent, with thousands separators, as formatUsd", () => {
    expect(dollars(2.675)).toBe("$2.68");
    expect(dollars(1.005)).toBe("$1.01");
    expect(dollars(1234.567)).toBe("$1,234.57");
    expect(dollars(Number.NaN)).toBe("$0.00");
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.integer({ min: 0, max: 1e9 })),
        (usd) => {
          expect(dollars(usd)).toBe(formatUsd(usd));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("durations, as formatDuration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 3600_000 }), (ms) => {
        expect(pageDuration(ms)).toBe(formatDuration(ms));
      }),
      { numRuns: 300 },
    );
  });
});
