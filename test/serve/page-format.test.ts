import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration } from "../../src/model/progress.js";
import { formatDuration as pageDuration } from "../../web/format.js";

// The page (web/format.js, plain JavaScript served as it is) writes durations again, as the comment does
// (src/model), since it counts them on between two views: this holds the two to the same text. (Amounts
// come written: the view's costText.)
describe("the page writes durations as the comment does", () => {
  it("durations, as formatDuration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 * 3600_000 }), (ms) => {
        expect(pageDuration(ms)).toBe(formatDuration(ms));
      }),
      { numRuns: 300 },
    );
  });
});
