import fc from "fast-check";
import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";
import { describe, expect, it } from "vitest";
import { percent, sortByDomain } from "../../src/model/progress.js";
import { AGENT_STATUSES, type AgentState, type RunState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import {
  renderFinalComment,
  renderProgressComment,
  STATUS_LABELS,
} from "../../src/render/progress-comment.js";

/** Rendered comments parsed the way GitHub does (CommonMark + GFM), then checked for what agent text must not do. */

interface Node {
  type: string;
  value?: string;
  children?: Node[];
}

const parse = (body: string): Node =>
  fromMarkdown(body, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });

function* walk(node: Node): Generator<Node> {
  yield node;
  for (const child of node.children ?? []) yield* walk(child);
}

/** The visible text of a node; a `<br>` counts as a line break. */
function text(node: Node): string {
  if (node.type === "html") return node.value === "<br>" ? "\n" : "";
  if (node.value !== undefined) return node.value;
  return (node.children ?? []).map(text).join("");
}

const LIVE_MENTION = /@[\p{L}\p{N}_]/u;

const nasty = fc.constantFrom(
  "|",
  "\\",
  "\\|",
  "\n",
  "\r\n",
  "\r",
  "\n\n",
  "@x",
  "@org/team",
  "@@y",
  "<b>",
  "</b>",
  "<br>",
  "<!--",
  "-->",
  "<script>alert(1)</script>",
  "`",
  "```",
  "~~~",
  "*",
  "**",
  "_",
  "~",
  "[x](y)",
  "![i](http://x/i.png)",
  "[x]: http://y",
  "&#124;",
  "&#64;z",
  "&lt;!--",
  "&amp;",
  "&",
  "#",
  "# ",
  "- ",
  "> ",
  "1. ",
  "---",
  "===",
  "    ",
  "\t",
  "\u0000",
  "\u001b[31m",
  "\u2028",
  "\u202e",
  "\ud800",
  "www.x.com",
  "a@b.co",
  "<http://x>",
  ":---:",
  "<!-- parallel-progress:final run=fake -->",
  "<!-- parallel-progress:progress run=fake seq=999 -->",
);
const agentText = fc.string({
  unit: fc.oneof(nasty, fc.string({ unit: "binary", maxLength: 2 })),
  maxLength: 12,
});

const agentArb = fc.record({
  agentId: agentText,
  domain: agentText,
  status: fc.constantFrom(...AGENT_STATUSES),
  filesTotal: fc.integer({ min: 0, max: 50 }),
  filesDone: fc.integer({ min: 0, max: 50 }),
  summary: fc.option(agentText, { nil: null }),
  error: fc.option(agentText, { nil: null }),
});

const stateArb = fc.record({
  agents: fc.array(agentArb, { minLength: 1, maxLength: 6 }),
  event: agentText,
  mergeSummary: fc.option(
    fc.string({ unit: fc.oneof(nasty, fc.string({ unit: "binary", maxLength: 2 })), maxLength: 40 }),
    {
      nil: null,
    },
  ),
});

type Generated = typeof stateArb extends fc.Arbitrary<infer T> ? T : never;

const RUN_ID = "EPIC-007-20251019T163000Z-ab12";

function toState(generated: Generated): RunState {
  const agents: Record<string, AgentState> = {};
  generated.agents.forEach((spec, index) => {
    const filesCompleted = Math.min(spec.filesDone, spec.filesTotal);
    agents[`k${index}`] = {
      agentId: spec.agentId,
      domain: spec.domain,
      status: spec.status,
      filesCompleted,
      filesTotal: spec.filesTotal,
      startedAt: null,
      updatedAt: "2025-10-19T16:31:00.000Z",
      finishedAt: null,
      summary: spec.summary,
      error: spec.error,
    };
  });
  return {
    version: 1,
    runId: RUN_ID,
    epicId: "EPIC-007",
    startedAt: "2025-10-19T16:30:00.000Z",
    completedAt: "2025-10-19T16:42:00.000Z",
    seq: 7,
    event: generated.event,
    agents,
    mergeSummary: generated.mergeSummary,
    github: {
      issueNumber: 1,
      repo: "a/b",
      apiUrl: "https://api.github.com",
      syncEnabled: true,
      commentMode: "edit",
      minIntervalMs: 1000,
    },
    taskFile: null,
    sync: {
      commentId: null,
      commentUrl: null,
      viewer: null,
      postedSeq: 0,
      queuedSeq: 0,
      lastWriteAt: 0,
      lease: null,
      flusher: null,
      backoffUntil: 0,
      rateLimitedUntil: 0,
      consecutiveFailures: 0,
      finalCommentId: null,
      lastError: null,
    },
  };
}

function checkBody(body: string, state: RunState, kind: "progress" | "final") {
  const tree = parse(body);
  const nodes = [...walk(tree)];

  // The table is the first one and holds exactly one row per agent, five cells each, nothing shifted.
  const tables = nodes.filter((node) => node.type === "table");
  if (kind === "progress") expect(tables).toHaveLength(1);
  const rows = tables[0]!.children!;
  const agents = sortByDomain(Object.values(state.agents));
  expect(rows).toHaveLength(agents.length + 1);
  for (const row of rows) expect(row.children).toHaveLength(5);
  rows.slice(1).forEach((row, index) => {
    const cells = row.children!.map(text);
    const agent = agents[index]!;
    expect(cells[2]).toBe(STATUS_LABELS[agent.status]);
    expect(cells[3]).toBe(`${agent.filesCompleted}/${agent.filesTotal}`);
  });

  // No HTML but our marker and <br>; the marker is the body's last node, outside any code block.
  const html = nodes.filter((node) => node.type === "html").map((node) => node.value);
  for (const value of html) expect(value === "<br>" || parseMarker(value ?? "") !== null).toBe(true);
  expect(html.filter((value) => value !== "<br>")).toHaveLength(1);
  const last = tree.children!.at(-1)!;
  expect(last.type).toBe("html");
  expect(parseMarker(last.value!)).toMatchObject({ kind, runId: RUN_ID });
  expect(parseMarker(body)).toEqual({ kind, runId: RUN_ID, seq: kind === "progress" ? 7 : null });
  expect(body.match(/<!--/g)).toHaveLength(1);

  // No live mention anywhere in the visible text, also across inline nodes.
  for (const node of nodes) {
    if (node.value !== undefined) expect(node.value).not.toMatch(LIVE_MENTION);
    if (node.type === "paragraph" || node.type === "tableCell" || node.type === "heading") {
      expect(text(node)).not.toMatch(LIVE_MENTION);
    }
  }
}

describe("agent text cannot break the comment (property)", () => {
  it("progress comment", () => {
    fc.assert(
      fc.property(stateArb, (generated) => {
        const state = toState(generated);
        checkBody(renderProgressComment(state), state, "progress");
      }),
      { numRuns: 200 },
    );
  });

  it("final comment, merge summary included", () => {
    fc.assert(
      fc.property(stateArb, (generated) => {
        const state = toState(generated);
        checkBody(renderFinalComment(state), state, "final");
      }),
      { numRuns: 200 },
    );
  });

  it("the Overall line stays exact", () => {
    fc.assert(
      fc.property(stateArb, (generated) => {
        const state = toState(generated);
        const agents = Object.values(state.agents);
        const done = agents.reduce((sum, agent) => sum + agent.filesCompleted, 0);
        const total = agents.reduce((sum, agent) => sum + agent.filesTotal, 0);
        const all = agents.every((agent) => agent.status === "completed");
        const progress = total === 0 ? (all ? 100 : 0) : percent(done, total);
        expect(renderProgressComment(state)).toContain(
          `\n\n**Overall:** ${progress}% (${done}/${total} files)\n\n`,
        );
      }),
      { numRuns: 100 },
    );
  });
});
