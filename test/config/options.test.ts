import { describe, expect, it } from "vitest";
import {
  parseCommentMode,
  parseCostOption,
  parseCriteriaOption,
  parseDomainsOption,
  parseFilesOption,
  parseIntervalOption,
  parseIssueOption,
  parseIterationOption,
  parseMaxCostOption,
  parseStatusOption,
} from "../../src/config/options.js";
import { UsageError } from "../../src/errors.js";

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

describe("parseFilesOption", () => {
  it("reads done/total", () => {
    expect(parseFilesOption("3/7")).toEqual({ done: 3, total: 7 });
    expect(parseFilesOption("0/0")).toEqual({ done: 0, total: 0 });
    expect(parseFilesOption(" 7 / 7 ")).toEqual({ done: 7, total: 7 });
  });

  it("rejects what is not two whole numbers", () => {
    expect(messageOf(() => parseFilesOption("3/x"))).toBe(
      '--files must be <done>/<total> with whole numbers, got "3/x"',
    );
    for (const bad of ["", "3", "-1/4", "1.5/4", "3/7/9"]) {
      expect(messageOf(() => parseFilesOption(bad))).toMatch(/^--files must be <done>\/<total>/);
    }
  });

  it("refuses a total past a billion files, whose sum over agents would lose exactness", () => {
    expect(parseFilesOption("1/1000000000")).toEqual({ done: 1, total: 1_000_000_000 });
    expect(messageOf(() => parseFilesOption("1/9007199254740991"))).toBe(
      "--files: the total may be at most 1000000000, got 9007199254740991",
    );
    // Past what a double holds exactly: too big for the rule, not "not whole numbers".
    expect(messageOf(() => parseFilesOption("1/99999999999999999999"))).toBe(
      "--files: the total may be at most 1000000000, got 100000000000000000000",
    );
  });

  it("rejects done above total", () => {
    expect(messageOf(() => parseFilesOption("9/7"))).toBe("--files: done (9) cannot exceed total (7)");
  });
});

describe("parseDomainsOption", () => {
  it("trims and keeps the order", () => {
    expect(parseDomainsOption("a, b,c")).toEqual(["a", "b", "c"]);
    expect(parseDomainsOption("backend")).toEqual(["backend"]);
  });

  it("rejects empty items", () => {
    expect(messageOf(() => parseDomainsOption("a,,b"))).toBe(
      '--domains must be a comma-separated list of names with no empty item, got "a,,b"',
    );
    expect(messageOf(() => parseDomainsOption(""))).toMatch(/no empty item, got ""$/);
    expect(messageOf(() => parseDomainsOption("a,"))).toMatch(/no empty item/);
  });

  it("names a duplicate", () => {
    expect(messageOf(() => parseDomainsOption("api, web, api"))).toBe(
      '--domains lists "api" more than once, got "api, web, api"',
    );
  });

  it("rejects long domains and control characters", () => {
    expect(parseDomainsOption("x".repeat(200))).toHaveLength(1);
    expect(messageOf(() => parseDomainsOption(`a,${"x".repeat(201)}`))).toMatch(
      /^--domains: a domain may have at most 200 characters, got one of 201: "x+\.\.\."$/,
    );
    expect(messageOf(() => parseDomainsOption("a\tb"))).toBe(
      '--domains: a domain may not contain control characters, got "a\\tb"',
    );
  });
});

describe("parseIssueOption and parseIntervalOption", () => {
  it("read whole numbers", () => {
    expect(parseIssueOption("12")).toBe(12);
    expect(parseIntervalOption("1000")).toBe(1000);
    expect(parseIntervalOption("0")).toBe(0);
    expect(parseIntervalOption("600000")).toBe(600000);
  });

  it("reject the rest with the value", () => {
    expect(messageOf(() => parseIssueOption("abc"))).toBe('--issue must be a positive integer, got "abc"');
    expect(messageOf(() => parseIssueOption("0"))).toBe('--issue must be a positive integer, got "0"');
    expect(messageOf(() => parseIssueOption("1.5"))).toMatch(/got "1.5"$/);
    // GitHub's issue numbers are 32-bit (and the PostgreSQL store's column an integer).
    expect(parseIssueOption("2147483647")).toBe(2147483647);
    for (const big of ["2147483648", "3000000000", "99999999999999999999999"]) {
      expect(messageOf(() => parseIssueOption(big))).toBe(
        `--issue must be at most 2147483647 (GitHub's issue numbers are 32-bit), got "${big}"`,
      );
    }
    expect(messageOf(() => parseIntervalOption("600001"))).toBe(
      '--min-interval must be a whole number of milliseconds from 0 to 600000, got "600001"',
    );
    expect(messageOf(() => parseIntervalOption("-1"))).toMatch(/got "-1"$/);
  });
});

describe("parseCommentMode and parseStatusOption", () => {
  it("accept the known values", () => {
    expect(parseCommentMode("edit")).toBe("edit");
    expect(parseCommentMode("append")).toBe("append");
    expect(parseStatusOption("pending")).toBe("pending");
    expect(parseStatusOption("in_progress")).toBe("in_progress");
    expect(parseStatusOption("in-progress")).toBe("in_progress");
    expect(parseStatusOption("completed")).toBe("completed");
    expect(parseStatusOption("failed")).toBe("failed");
  });

  it("reject the rest", () => {
    expect(messageOf(() => parseCommentMode("replace"))).toBe(
      '--comment-mode must be edit or append, got "replace"',
    );
    expect(messageOf(() => parseStatusOption("done"))).toBe(
      '--status must be one of pending, in_progress, completed, failed, got "done"',
    );
    expect(messageOf(() => parseStatusOption("cancelled"))).toMatch(/got "cancelled"$/);
  });
});

describe("parseStallAfterOption", () => {
  it("reads durations with a unit, days included, from 1s to 7d", async () => {
    const { parseStallAfterOption } = await import("../../src/config/options.js");
    expect(parseStallAfterOption("15m")).toBe(900_000);
    expect(parseStallAfterOption("90s")).toBe(90_000);
    expect(parseStallAfterOption("1.5h")).toBe(5_400_000);
    expect(parseStallAfterOption("1d")).toBe(86_400_000);
    expect(parseStallAfterOption("7d")).toBe(7 * 86_400_000);
    expect(parseStallAfterOption("168h")).toBe(7 * 86_400_000);
    expect(parseStallAfterOption("1000ms")).toBe(1000);
    expect(parseStallAfterOption(" 2 H ")).toBe(7_200_000);
    expect(messageOf(() => parseStallAfterOption("soon"))).toBe(
      '--stall-after must be a duration from 1s to 7d such as 15m, 90s, 2h or 1d, got "soon"',
    );
    expect(() => parseStallAfterOption("10ms")).toThrow(/--stall-after must be .* got "10ms"/);
    expect(() => parseStallAfterOption("8d")).toThrow(/--stall-after must be .* got "8d"/);
    expect(() => parseStallAfterOption("7.5d")).toThrow(/got "7.5d"/);
  });

  it("refuses a number without a unit, asking for one", async () => {
    const { parseStallAfterOption } = await import("../../src/config/options.js");
    expect(messageOf(() => parseStallAfterOption("20"))).toBe(
      '--stall-after needs a unit (ms, s, m, h or d), e.g. 20m for minutes, got "20"',
    );
    expect(() => parseStallAfterOption("0.5")).toThrow(/needs a unit/);
  });
});

// The metric options' values (moved from test/cli/nested.test.ts, which keeps one refusal per option as a
// process: exit 2, one line, the state untouched).
describe("parseCostOption, parseMaxCostOption, parseIterationOption and parseCriteriaOption", () => {
  it("read decimal costs and whole pairs", () => {
    expect(parseCostOption("4.5")).toBe(4.5);
    expect(parseMaxCostOption("10")).toBe(10);
    expect(parseIterationOption("3/10")).toEqual({ iteration: 3, maxIterations: 10 });
    expect(parseCriteriaOption("4/6")).toEqual({ criteriaVerified: 4, criteriaTotal: 6 });
  });

  it("reject the rest with the value", () => {
    expect(messageOf(() => parseCostOption("-1"))).toMatch(/^--cost must be a decimal number .* got "-1"$/);
    for (const value of ["abc", "NaN", "Infinity", "1e3", "0x10"]) {
      expect(messageOf(() => parseCostOption(value))).toMatch(new RegExp(`^--cost .* got "${value}"$`));
    }
    for (const value of ["-5", "1e2", "Infinity", "ten"]) {
      expect(messageOf(() => parseMaxCostOption(value))).toMatch(
        new RegExp(`^--max-cost must be a decimal number .* got "${value}"$`),
      );
    }
    expect(messageOf(() => parseIterationOption("5/3"))).toMatch(/^--iteration must be .* got "5\/3"$/);
    expect(messageOf(() => parseIterationOption("1/0"))).toMatch(/^--iteration .* got "1\/0"$/);
    expect(messageOf(() => parseIterationOption("2"))).toMatch(/^--iteration .* got "2"$/);
    expect(messageOf(() => parseCriteriaOption("7/6"))).toMatch(/^--criteria must be .* got "7\/6"$/);
    expect(messageOf(() => parseCriteriaOption("-1/6"))).toMatch(/^--criteria .* got "-1\/6"$/);
  });
});
