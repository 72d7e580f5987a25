import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sortByDomain } from "../../src/model/progress.js";
import type { AgentState, RunState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { cleanText } from "../../src/render/text.js";
import { type MdNode as Node, parseGfm as parse, text as visible, walk } from "../support/gfm.js";
import { makeAgent, makeRun } from "./fixtures.js";

/**
 * Rendered comments parsed with the GFM parser (as GitHub renders them): the merge summary cannot swallow
 * what follows it (issue 11, item 4), and agent text renders literally, never as markdown (item 5).
 */

/** Visible text, zero-width joiners (our mention and link breakers) dropped. */
const text = (node: Node): string => visible(node).replaceAll("\u200D", "");

const RUN_ID = "EPIC-007-20251019T163000Z-ab12";
const OUR_HEADINGS = ["Parallel Execution Progress", "Final Summary", "Merge Results", "Agent Durations"];

function finalRun(summary: string, agents: AgentState[]): RunState {
  return makeRun(agents, { runId: RUN_ID, completedAt: "2025-10-19T16:42:00.000Z", mergeSummary: summary });
}

/**
 * The final comment's top level: our headings in order, the durations list after the last (`items`
 * lines: one per agent, or fewer and "… and N more" when cut to fit), the marker last.
 */
function expectContained(body: string, items: number) {
  const top = parse(body).children!;
  const headings = top.filter((node) => node.type === "heading" && node.depth! <= 3).map(text);
  // The timeline (a mermaid block under its own heading) closes the summary when it fits.
  const timeline = top.findIndex((node) => node.type === "heading" && text(node) === "Timeline");
  const ours = timeline === -1 ? OUR_HEADINGS : [...OUR_HEADINGS, "Timeline"];
  expect(headings.map((heading) => heading.replace(/^[^\p{L}]+/u, ""))).toEqual(ours);
  if (timeline !== -1) {
    expect(top[timeline + 1]).toMatchObject({ type: "code", lang: "mermaid" });
    expect(top).toHaveLength(timeline + 3);
  }
  const durations = top.findIndex((node) => node.type === "heading" && text(node) === "Agent Durations");
  expect(top[durations + 1]).toMatchObject({ type: "list" });
  expect(top[durations + 1]!.children).toHaveLength(items);
  expect(top).toHaveLength(durations + (timeline === -1 ? 3 : 5));
  const last = top.at(-1)!;
  expect(last.type).toBe("html");
  expect(parseMarker(last.value!)).toEqual({ kind: "final", runId: RUN_ID, seq: null });
}

describe("the merge summary cannot swallow what follows it", () => {
  const agents = [makeAgent("backend", "completed", 7, 7), makeAgent("frontend", "failed", 1, 5)];

  it.each([
    ["a fence opened in a list item (the issue's case)", "- item\n  ```\n  code"],
    ["a fence in a block quote", "> ```\n> code"],
    ["a fence in a nested list", "1. one\n   - two\n     ~~~~\n     code"],
    ["a tab-indented fence", "-\t```\n\tcode"],
    ["an unclosed top-level fence", "before\n````js\ncode\n```"],
    ["a top-level fence after a list", "- item\n```\ncode"],
    ["an indented code block", "    ```\n    code"],
  ])("%s", (_, summary) => {
    expectContained(renderFinalComment(finalRun(summary, agents)), 2);
  });

  it("keeps plain summaries and balanced top-level fences as they are", () => {
    const summary = "All merged.\n\n- backend: 7 files\n\n```sh\ngit log\n```";
    expect(renderFinalComment(finalRun(summary, agents))).toContain(
      `### Merge Results\n\n${summary}\n\n### Agent Durations`,
    );
  });

  it("contains any input made of container and fence fragments (property)", () => {
    const fragment = fc.constantFrom(
      "\n",
      "\n\n",
      "- item\n  ",
      "\n> ",
      "\n1. x\n   ",
      " ",
      "  ",
      "    ",
      "\t",
      "- ",
      "* ",
      "1. ",
      "2) ",
      "> ",
      ">",
      "```",
      "````",
      "~~~",
      "`",
      "js",
      "code",
      "# ",
      "### ",
      "---",
      "===",
      "| a |",
      "|---|",
      "[x]: http://y",
      "<!--",
      "<div>",
      "&lt;",
      "x",
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 30 }), (parts) => {
        expectContained(renderFinalComment(finalRun(parts.join(""), agents)), 2);
      }),
      { numRuns: 50 },
    );
  });

  it("stays contained when cut to fit the body's limit", () => {
    const summary = `- item\n  \`\`\`\n${"  line of code\n".repeat(2000)}`;
    const body = renderFinalComment(finalRun(summary, agents), { maxLength: 3000 });
    expect(body.length).toBeLessThanOrEqual(3000);
    expect(body).toContain("truncated");
    // The durations keep their heading and the line that says how many are not shown.
    expectContained(body, 1);
    expect(body).toContain("\n\n### Agent Durations\n\n- … and 2 more\n\n");
    // The note that says so closes the merge summary (before the durations).
    const top = parse(body).children!;
    const durations = top.findIndex((node) => node.type === "heading" && text(node) === "Agent Durations");
    expect(text(top[durations - 1]!)).toMatch(/^… truncated \(\d+ more characters\)$/);
  });
});

describe("code in the merge summary reads as written", () => {
  const agents = [makeAgent("backend", "completed", 7, 7)];
  const summaryOf = (body: string): Node[] => {
    const top = parse(body).children!;
    const start = top.findIndex((node) => node.type === "heading" && text(node) === "Merge Results");
    const end = top.findIndex((node) => node.type === "heading" && text(node) === "Agent Durations");
    return top.slice(start + 1, end);
  };

  /** No HTML and no unbroken mention from the summary, and our marker the only one. */
  function expectNoMarkup(body: string) {
    expectContained(body, 1);
    expect(body.split("\n").filter((line) => line.startsWith("<!-- parallel-progress:"))).toHaveLength(1);
    for (const node of summaryOf(body).flatMap((each) => [...walk(each)])) {
      expect(node.type).not.toBe("html");
      if (node.type === "text") expect(node.value).not.toContain("@alice");
    }
  }

  it.each([
    ["a link destination", "[x](`)<img src=x>`"],
    ["a link title", '[x](/u "`")<img src=x>`'],
    ["a literal autolink", "www.x.com/`a <img src=x> `b`"],
    ["a URL", "http://x/`a <img src=x> `b`"],
    ["a table cell", "| a |\n|---|\n| `a|<img src=x>` |"],
    ["a span over two lines", "`a\nb` <img src=x> `c` @alice"],
    ["a definition's title", "[x]: /u '`'\n<img src=x> `c`"],
    ["a fence that may be nested", "  ```\n```\n<img src=x>\n```"],
    ["an indented line in a list", "- a\n\n    <img src=x> @alice"],
    ["an escaped backtick", "\\`<img src=x>` @alice `x`"],
    ["a forged marker in a fence", "```\n<!-- parallel-progress:final run=victim -->\n```"],
  ])("pairs no backtick differently from GitHub: %s", (_, summary) => {
    expectNoMarkup(renderFinalComment(finalRun(summary, agents)));
  });

  it("shows code spans and blocks as the user wrote them, without entities or joiners", () => {
    const code = "fn f() -> Vec<String> // @octocat &amp;";
    const summary = `Changed \`Vec<String>\` for @alice\n\n\`\`\`rust\n${code}\n\`\`\`\n\n    if a < b {}`;
    const body = renderFinalComment(finalRun(summary, agents));
    expectContained(body, 1);
    const nodes = summaryOf(body).flatMap((node) => [...walk(node)]);
    expect(nodes.filter((node) => node.type === "inlineCode").map((node) => node.value)).toEqual([
      "Vec<String>",
    ]);
    expect(nodes.filter((node) => node.type === "code").map((node) => [node.lang, node.value])).toEqual([
      ["rust", code],
      [null, "if a < b {}"],
    ]);
    // Outside code the mention is still broken.
    expect(visible(nodes[0]!)).toBe(`Changed Vec<String> for @\u200Dalice`);
  });

  it("renders no HTML, mention or second marker from any mix of code and markup (property)", () => {
    // Lines of inline pieces that pair backticks in every way, after block prefixes.
    const inline = fc.constantFrom(
      "`",
      "``",
      "`<img src=x>`",
      "` <img src=x> `",
      "<img src=x>",
      "[x](",
      "](",
      ")",
      "]",
      "|",
      "[x][",
      "]: ",
      "[^1]",
      "$",
      "www.x.com/",
      "http://x/",
      "| ",
      "\\",
      "@alice",
      "&#64;",
      "x",
      " ",
    );
    const prefix = fc.constantFrom(
      "",
      "",
      "    ",
      "\t",
      "  ",
      "- ",
      "> ",
      "1. ",
      "```",
      "  ```",
      "~~~",
      "| a |\n|---|\n",
    );
    const line = fc
      .tuple(prefix, fc.array(inline, { maxLength: 8 }))
      .map(([start, pieces]) => start + pieces.join(""));
    const summary = fc
      .array(
        fc.tuple(line, fc.constantFrom("\n", "\n\n", "\n<!-- parallel-progress:final run=victim -->\n")),
        {
          maxLength: 6,
        },
      )
      .map((lines) => lines.map(([text, end]) => text + end).join(""));
    fc.assert(
      fc.property(summary, (input) => {
        const body = renderFinalComment(finalRun(input, agents));
        expectNoMarkup(body);
      }),
      { numRuns: 300 },
    );
  });
});

/** Agent text that would be markdown if it were not escaped. */
const hostile = fc.constantFrom(
  "![](http://evil.example/x.png)",
  "[x](javascript:alert(1))",
  "[x]",
  "[x]: http://y",
  "**b**",
  "*e*",
  "_e_",
  "__s__",
  "~~d~~",
  "~d~",
  "`code`",
  "$x$",
  "#123",
  "GH #7",
  "http://evil.example",
  "https://e.x/y",
  "www.e.x",
  "a@b.co",
  "<http://x>",
  "<b>",
  "<img src=x>",
  "&#42;",
  "\\*",
  "[^1]",
  "| x |",
  " ",
  "x",
);
const agentText = fc
  .array(hostile, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join(""))
  .filter((value) => value.trim() !== "");

/** Node types that only agent text could produce in a comment body. */
const FORBIDDEN = [
  "image",
  "imageReference",
  "link",
  "linkReference",
  "emphasis",
  "delete",
  "inlineCode",
  "inlineMath",
  "footnoteReference",
  "definition",
];

describe("agent text is shown literally (property)", () => {
  const runArb = fc.array(
    fc.record({ domain: agentText, error: agentText, event: agentText, line: agentText }),
    { minLength: 1, maxLength: 4 },
  );

  function toRun(specs: { domain: string; error: string; event: string; line: string }[]): RunState {
    const agents = specs.map((spec, index) =>
      makeAgent(`${spec.domain.trim()}${index}`, index % 2 === 0 ? "failed" : "in_progress", 0, 3, {
        agentId: `impl-x-16300${index}`,
        error: spec.error,
        events: [{ at: "2025-10-19T16:31:05.000Z", message: spec.line }],
      }),
    );
    return makeRun(agents, {
      runId: RUN_ID,
      event: specs[0]!.event,
      completedAt: "2025-10-19T16:42:00.000Z",
    });
  }

  it("no image, link, emphasis, code, math or HTML node comes from agent text", () => {
    fc.assert(
      fc.property(runArb, (specs) => {
        const state = toRun(specs);
        for (const body of [renderProgressComment(state), renderFinalComment(state)]) {
          for (const node of walk(parse(body))) {
            expect(FORBIDDEN).not.toContain(node.type);
            if (node.type === "html" && parseMarker(node.value!) === null) {
              expect(["<br>", "<details><summary>Recent events</summary>", "</details>"]).toContain(
                node.value,
              );
            }
            // Our bold labels and the events' bold domain hold plain text only.
            if (node.type === "strong") for (const child of node.children!) expect(child.type).toBe("text");
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it("each cell and list line reads exactly as the agent wrote it", () => {
    fc.assert(
      fc.property(runArb, (specs) => {
        const state = toRun(specs);
        const tree = parse(renderProgressComment(state));
        const rows = [...walk(tree)].filter((node) => node.type === "tableRow").slice(1);
        const agents = sortByDomain(Object.values(state.agents));
        rows.forEach((row, index) => {
          expect(text(row.children![0]!)).toBe(cleanText(agents[index]!.domain).trim());
        });
        const items = [...walk(tree)].filter((node) => node.type === "listItem").map(text);
        for (const agent of agents.filter((each) => each.status === "failed")) {
          expect(items).toContain(`${agent.domain} (${agent.agentId}): ${agent.error!.trim()}`);
        }
        expect(text(tree.children![1]!)).toBe(state.event.trim());
      }),
      { numRuns: 40 },
    );
  });
});
