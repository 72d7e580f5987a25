import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeBlock, escapeCell, escapeInline, escapeWholeBlock } from "../../src/render/escape.js";
import { cleanText } from "../../src/render/text.js";

const ZWJ = "\u200D";

describe("escapeCell", () => {
  it.each([
    ["backend", "backend"],
    ["a|b", "a\\|b"],
    ["a\\|b", "a\\\\\\|b"],
    ["C:\\dir\\", "C:\\\\dir\\\\"],
    ["one\ntwo\r\nthree\rfour", "one<br>two<br>three<br>four"],
    ["tab\there", "tab here"],
    ["bell\u0007 esc\u001b[31m del\u007f c1\u0085 bom\ufeff rtl\u202e", "bell esc\\[31m del c1 bom rtl"],
    ["<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"],
    ["<!-- parallel-progress:final run=x -->", "&lt;\\!-- parallel-progress:final run=x --&gt;"],
    ["&#124; &amp; &lt;", `&amp;\\#${ZWJ}124; &amp;amp; &amp;lt;`],
    ["`code`", "\\`code\\`"],
    ["ping @alice and @org/team", `ping @${ZWJ}alice and @${ZWJ}org/team`],
    ["@@x", `@${ZWJ}@${ZWJ}x`],
    ["mail a@b.co", `mail a@${ZWJ}b.co`],
    ["lone @ sign", "lone @ sign"],
    ["**bold** [x](y)", "\\*\\*bold\\*\\* \\[x\\](y)"],
    ["![](http://evil.example/x.png)", `\\!\\[\\](http${ZWJ}://evil.example/x.png)`],
    ["_e_ ~~s~~ $m$", "\\_e\\_ \\~\\~s\\~\\~ \\$m\\$"],
    ["fixes #123, see www.x.com", `fixes \\#${ZWJ}123, see www${ZWJ}.x.com`],
    ["impl-bac-163000 1. + (x)", "impl-bac-163000 1. + (x)"],
    ["GH-12 :tada: 10:30", `GH${ZWJ}-12 :${ZWJ}tada: 10:30`],
    ["lone \ud800 half", "lone \ufffd half"],
  ])("%j → %j", (input, expected) => {
    expect(escapeCell(input)).toBe(expected);
  });

  it("cuts to the given number of code points with an ellipsis", () => {
    expect(escapeCell("x".repeat(500))).toBe("x".repeat(500));
    expect(escapeCell("x".repeat(501))).toBe(`${"x".repeat(499)}…`);
    expect(escapeCell("😀".repeat(10), 5)).toBe(`${"😀".repeat(4)}…`);
    expect(escapeCell("a|b|c", 3)).toBe("a\\|…");
    expect(escapeCell("abc", 0)).toBe("");
  });

  it("escapeInline follows the same rules", () => {
    expect(escapeInline("x\n# y | @z")).toBe(`x<br>\\# y \\| @${ZWJ}z`);
  });
});

describe("escapeBlock", () => {
  it("keeps the user's markdown, trimmed", () => {
    const text = "\n\nAll merged.\n- **backend**: 7 files\n\n#### Notes\n| a | b |\n|---|---|\n| 1 | 2 |\n\n";
    expect(escapeBlock(text, 1000)).toBe(text.trim());
  });

  it("neutralises HTML, entities, mentions and control characters", () => {
    expect(escapeBlock("<img src=x onerror=alert(1)>\n<!-- hidden -->", 1000)).toBe(
      "&lt;img src=x onerror=alert(1)>\n&lt;!-- hidden -->",
    );
    expect(escapeBlock("&#64;alice &lt;!-- &amp; fish & chips", 1000)).toBe(
      "&amp;#64;alice &amp;lt;!-- &amp;amp; fish & chips",
    );
    expect(escapeBlock("thanks @alice, cc @org/team\u0000\u001b[0m", 1000)).toBe(
      `thanks @${ZWJ}alice, cc @${ZWJ}org/team[0m`,
    );
    expect(escapeBlock("a\r\nb\rc", 1000)).toBe("a\nb\nc");
  });

  it("leaves code as written: spans, fenced and indented blocks show no HTML, entity or mention", () => {
    const summary =
      "Changed `Vec<String>` for @alice\n\n```rust\nfn f() -> Vec<String> // @octocat &amp;\n```";
    expect(escapeBlock(summary, 1000)).toBe(summary.replace("@alice", `@${ZWJ}alice`));
    expect(escapeBlock("~~~\n<div> &#64;x", 1000)).toBe("~~~\n<div> &#64;x\n~~~");
    expect(escapeBlock("text:\n\n    if a < b && c", 1000)).toBe("text:\n\n    if a < b && c");
    expect(escapeBlock("`a` [x](`y) <i> `z`", 1000)).toBe("`a` [x](`y) &lt;i> `z`");
  });

  it("neutralises our marker's opening even in code", () => {
    expect(escapeBlock("```\n<!-- parallel-progress:final run=x -->\n```", 1000)).toBe(
      "```\n&lt;!-- parallel-progress:final run=x -->\n```",
    );
    expect(escapeBlock("`<!--parallel-progress` `<!-- x -->`", 1000)).toBe(
      "`&lt;!--parallel-progress` `<!-- x -->`",
    );
  });

  it("escapes as text a code span the cut splits", () => {
    const cut = escapeBlock(`${"word ".repeat(20)}\`<img src=x>${" y".repeat(100)}\``, 300);
    expect(cut).toContain("`&lt;img src=x>");
    expect(cut.length).toBeLessThanOrEqual(300);
  });

  it("demotes headings of level 1 to 3 and breaks setext headings", () => {
    expect(escapeBlock("# One\n## Two\n### Three\n#### Four\n#hashtag", 1000)).toBe(
      "#### One\n#### Two\n#### Three\n#### Four\n#hashtag",
    );
    expect(escapeBlock("> # Quoted\n- ## Listed", 1000)).toBe("> #### Quoted\n- #### Listed");
    expect(escapeBlock("Title\n=====\nSub\n---\n\n---", 1000)).toBe("Title\n\n=====\nSub\n\n---\n\n---");
    expect(escapeBlock("```\n# not a heading\n---\n```", 1000)).toBe("```\n# not a heading\n---\n```");
  });

  it("puts text whose fences may sit in a list item or block quote in a block quote", () => {
    expect(escapeBlock("- item\n  ```\n  code", 1000)).toBe("> - item\n>   ```\n>   code");
    expect(escapeBlock("> ```\n\nx", 1000)).toBe("> > ```\n>\n> x");
  });

  it("closes a code fence left open, so nothing after it is swallowed", () => {
    expect(escapeBlock("before\n````js\ncode\n```", 1000)).toBe("before\n````js\ncode\n```\n````");
    expect(escapeBlock("~~~\ncode", 1000)).toBe("~~~\ncode\n~~~");
  });

  it("fits in maxLength with a note, closing a fence it cut through", () => {
    const long = Array.from({ length: 200 }, (_, i) => `- line ${i}`).join("\n");
    const cut = escapeBlock(long, 300);
    expect(cut.length).toBeLessThanOrEqual(300);
    expect(cut).toMatch(/^- line 0\n[\s\S]*\n\n\*… truncated \(\d+ more characters\)\*$/);
    const fenced = escapeBlock(`\`\`\`\n${long}\n\`\`\``, 300);
    expect(fenced.length).toBeLessThanOrEqual(300);
    expect(fenced).toMatch(/\n```\n\n\*… truncated/);
    for (const max of [0, 1, 10, 40, 41, 60]) expect(escapeBlock(long, max).length).toBeLessThanOrEqual(max);
  });

  it("escapes only what fits of a summary longer than the limit (megabytes cost what fits)", () => {
    const huge = "line of a build log: `x` <tag> @user | col\n".repeat(25_000);
    expect(escapeWholeBlock(huge, 65_000)).toBeNull();
    const cut = escapeBlock(huge, 65_000);
    expect(cut.length).toBeLessThanOrEqual(65_000);
    expect(cut).toMatch(
      /^line of a build log: `x` &lt;tag> @\u200Duser \| col\n[\s\S]*\*… truncated \(\d+ more characters\)\*$/,
    );
  });

  it("fills the limit with a summary that grows when escaped (`<` is 4 characters, `@` 2), with its note", () => {
    for (const [char, length] of [
      ["@", 65_000],
      ["@", 60_000],
      ["<", 40_000],
      ["<", 70_000],
    ] as const) {
      const cut = escapeBlock(char.repeat(length), 65_000);
      expect(cut.length, `${length} × ${char}`).toBeLessThanOrEqual(65_000);
      expect(cut.length, `${length} × ${char}`).toBeGreaterThan(60_000);
      expect(cut).toMatch(/\n\n\*… truncated \(\d+ more characters\)\*$/);
    }
    // Nothing fits but the note: the note alone, saying all of it was left out.
    expect(escapeBlock("<".repeat(100), 39)).toBe("*… truncated (100 more characters)*");
    expect(escapeBlock("<".repeat(100), 40)).toBe("&lt;\n\n*… truncated (99 more characters)*");
  });

  it("counts in its note what the run cut before keeping the summary (cutBefore), in place of its last `…`", () => {
    // 100 characters kept as 59 and `…` (41 cut before): whole, the note says 41; cut at 30, 41 + 30.
    const kept = `${"a".repeat(59)}…`;
    expect(escapeWholeBlock(kept, 1000, 41)).toBe(`${"a".repeat(59)}\n\n*… truncated (41 more characters)*`);
    expect(escapeBlock(kept, 1000, 41)).toBe(`${"a".repeat(59)}\n\n*… truncated (41 more characters)*`);
    expect(escapeBlock(kept, 65, 41)).toBe(`${"a".repeat(29)}\n\n*… truncated (71 more characters)*`);
    // The white space before the `…` is left out too, and counted.
    expect(escapeBlock("done\n\n…", 1000, 7)).toBe("done\n\n*… truncated (9 more characters)*");
    // Nothing cut before: the `…` is the user's.
    expect(escapeBlock(kept, 1000)).toBe(kept);
  });

  it("only ever adds to the text it escapes, so a source past the limit never fits whole (property)", () => {
    const piece = fc.constantFrom(
      "<",
      "&",
      "@a",
      "#",
      "# h",
      "```",
      "~~~",
      "- ",
      "> ",
      "    ",
      "`",
      "\n",
      "\r\n",
      "x",
      "\u0000",
      " ",
      "<!-- parallel-progress",
      "=\n",
      "---",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join("");
        const whole = escapeBlock(text, Number.POSITIVE_INFINITY);
        expect(whole.length).toBeGreaterThanOrEqual(cleanText(text).replace(/^\s*\n|\s+$/g, "").length);
        expect(escapeWholeBlock(text, whole.length)).toBe(whole);
        if (whole !== "") expect(escapeWholeBlock(text, whole.length - 1)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});
