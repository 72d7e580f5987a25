import { describe, expect, it } from "vitest";
import { codeRanges, lineSpans } from "../../src/render/code-regions.js";

/** The text of each code region, for reading the expectations. */
const code = (text: string) => codeRanges(text).map(([start, end]) => text.slice(start, end));
const spans = (line: string) => {
  const found = lineSpans(line);
  return { code: found.spans.map(([start, end]) => line.slice(start, end)), trusted: found.trusted };
};

describe("lineSpans (CommonMark code spans, within one line)", () => {
  it.each([
    ["Changed `Vec<String>` and `a`", ["Vec<String>", "a"]],
    ["``a ` b`` then `c`", ["a ` b", "c"]],
    ["``` x ```", [" x "]],
    ["`a\\` b", ["a\\"]],
    ["\\`a `b`", ["b"]],
    ["\\``foo`", ["foo"]],
    ["- [x] `<T>` done", ["<T>"]],
    ["`x` [a] (b)", ["x"]],
    ["a@b `@c` d", ["@c"]],
  ])("%j → %j", (line, expected) => {
    expect(spans(line)).toEqual({ code: expected, trusted: true });
  });

  it.each([
    ["a backtick run left open (it may close on a later line)", "`a` ``b` `c`", ["a"]],
    ["an escaped backtick leaving a shorter run unclosed", "a \\`` b `` c", []],
    ["a link destination (it takes backticks raw)", "`a` [x](`y) <i> `z`)", ["a"]],
    ["a full reference", "[x][`y] `z`", []],
    ["a definition", "[x]: `y` `z`", []],
    ["math", "`a` $`x`$", ["a"]],
    ["a literal autolink", "`a` www.x.com/`b <i> `c`", ["a"]],
    ["a URL", "see http://x/`b <i> `c`", []],
    ["a span holding a pipe (a table cell ends there)", "| `a|<b>` |", []],
  ])("stops at %s", (_, line, expected) => {
    expect(spans(line)).toEqual({ code: expected, trusted: false });
  });

  it("reads an escaped bracket, dollar or backtick as text", () => {
    expect(spans("\\](x) \\$ `a`")).toEqual({ code: ["a"], trusted: true });
  });

  it("is linear on a long line", () => {
    const started = performance.now();
    expect(spans("`a` ".repeat(20_000)).code).toHaveLength(20_000);
    expect(spans(`\`\`${" `x`".repeat(20_000)}`)).toEqual({ code: [], trusted: false });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("codeRanges", () => {
  it("finds fenced blocks at column 0: backticks or tildes, info strings, unclosed ones to the end", () => {
    expect(code("a\n```rust title\nfn f() -> Vec<T>\n```\nb")).toEqual(["fn f() -> Vec<T>"]);
    expect(code("~~~ a `b`\n<x>\n~~~~\n`c`")).toEqual(["<x>", "c"]);
    expect(code("````\n```\n<x>\n````")).toEqual(["```", "<x>"]);
    expect(code("~~~\n```\n<x>")).toEqual(["```", "<x>"]);
    expect(code("```a`b\n<x>")).toEqual([]);
  });

  it("finds indented blocks after a blank line, outside lists and quotes", () => {
    expect(code("    <x>\n\n    <y>\ntext")).toEqual(["    <x>", "    <y>"]);
    expect(code("para\n    <x>")).toEqual([]);
    expect(code("- item\n\n    <x>")).toEqual([]);
    expect(code("> quote\n\n    <x>")).toEqual([]);
    expect(code("- item\n\nback\n\n    <x>")).toEqual(["    <x>"]);
    expect(code("\t<x>")).toEqual([]);
  });

  it("trusts no fence or indented block after a fence that may sit in a container", () => {
    expect(code("  ```\n```\n<x>\n```")).toEqual([]);
    expect(code("- ```\n\n    <x>")).toEqual([]);
  });

  it("finds spans in paragraphs until a run is left open, then again after a blank line", () => {
    expect(code("`a` `b\nc` `<d>`\n\n`e`")).toEqual(["a", "e"]);
    expect(code("```\n`x\n```\n`y`")).toEqual(["`x", "y"]);
  });
});
