import { describe, expect, it } from "vitest";
import { quote } from "../../src/config/show-value.js";

/** The one way every error message shows the value it got: true to the value, on one line. */
describe("quote", () => {
  it.each<[string, unknown, string]>([
    ["a string, in double quotes", "abc", '"abc"'],
    ["a number", 42, "42"],
    ["null", null, "null"],
    ["a boolean", false, "false"],
    ["an array", ["x", 1], '["x",1]'],
    ["an object", { x: 1 }, '{"x":1}'],
    ["NaN (JSON would say null)", Number.NaN, "NaN"],
    ["Infinity (JSON would say null)", Number.POSITIVE_INFINITY, "Infinity"],
    ["-Infinity", Number.NEGATIVE_INFINITY, "-Infinity"],
    ["-0 (JSON would say 0)", -0, "-0"],
    ["undefined: left out", undefined, "nothing"],
    ["a function", () => 1, "a function"],
    ["a symbol", Symbol("id"), "Symbol(id)"],
    ["a bigint (JSON would throw)", 5n, "5n"],
    ["NaN inside an object", { n: Number.NaN }, "{ n: NaN }"],
    ["undefined inside an array (JSON would say null)", [undefined], "[ undefined ]"],
    ["a Map (JSON would say {})", new Map([["a", 1]]), "Map(1) { 'a' => 1 }"],
    ["a valid date", new Date("2025-10-19T16:30:00Z"), "2025-10-19T16:30:00.000Z"],
    ["an invalid date", new Date(Number.NaN), "an invalid date"],
  ])("%s", (_, value, shown) => {
    expect(quote(value)).toBe(shown);
  });

  it("keeps to one line, escapes control characters and shortens long values", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(quote(cyclic)).toBe("<ref *1> { self: [Circular *1] }");
    expect(quote(Symbol("a\nb\u0085"))).toBe("Symbol(a\\u000ab\\u0085)");
    const error = quote(new Error("boom"));
    expect(error).toMatch(/^Error: boom\\u000a {4}at /);
    expect(error).not.toMatch(/\n/);
    expect(error).toMatch(/\.\.\.$/);
    expect(quote(new Map([["k", "x".repeat(200)]]))).toHaveLength(80);
  });

  it("shows a long array on one line, and the start of a value of billions of shared parts at once", () => {
    // inspect had put a long array's items on lines of their own (escaped: `[\u000a  NaN,  1, …`).
    expect(quote([Number.NaN, ...Array.from({ length: 13 }, (_, i) => i + 1)])).toBe(
      "[ NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 ]",
    );
    // A YAML alias bomb in task.md: 10 levels of 10 references to the level below, 10^10 values: the
    // whole was written out before its first 80 characters were shown (minutes, gigabytes, or a crash).
    let bomb: unknown[] = Array(10).fill("x");
    for (let level = 0; level < 9; level++) bomb = Array(10).fill(bomb);
    const shown = quote(bomb);
    expect(shown).toMatch(/^\[{10}"x","x",.*\.\.\.$/);
    expect(shown.length).toBeLessThanOrEqual(80);
    bomb.unshift(Number.NaN); // not JSON's to show: inspect's, bounded too
    expect(quote(bomb)).toMatch(/^\[ NaN, \[ \[ \[Array\]/);
  });

  it.each<[string, string, string]>([
    ["a zero-width space", "agents_w\u200b", '"agents_w\\u200b"'],
    ["a word joiner", "a\u2060b", '"a\\u2060b"'],
    ["a no-break space", "a\u00a0b", '"a\\u00a0b"'],
    ["a soft hyphen", "a\u00adb", '"a\\u00adb"'],
    ["a right-to-left mark", "a\u200fb", '"a\\u200fb"'],
    ["a joiner in an emoji", "\u{1F9D1}\u200d\u{1F4BB}", '"\u{1F9D1}\\u200d\u{1F4BB}"'],
    ["a tag character (beyond U+FFFF: its two halves)", "a\u{E0041}", '"a\\udb40\\udc41"'],
    ["a private-use character", "a\ue000", '"a\\ue000"'],
    ["the ASCII space and visible text, as they are", "a b é 🚀 …", '"a b é 🚀 …"'],
  ])("escapes what is not visible on its own: %s", (_, value, shown) => {
    expect(quote(value)).toBe(shown);
    expect(JSON.parse(shown)).toBe(value);
  });
});
