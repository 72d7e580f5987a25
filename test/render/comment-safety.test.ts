import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatStatusCounts, percent, sortByDomain, statusCounts } from "../../src/model/progress.js";
import { agentFlags } from "../../src/model/stalled.js";
import { AGENT_STATUSES, type AgentState, type RunState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import {
  renderFinalComment,
  renderProgressComment,
  STATUS_LABELS,
} from "../../src/render/progress-comment.js";
import { type MdNode, parseGfm as parse, text, walk } from "../support/gfm.js";
import { makeAgent, makeRun, STARTED } from "./fixtures.js";

/** Rendered comments parsed the way GitHub does (CommonMark + GFM), then checked for what agent text must not do. */

const START_MS = Date.parse(STARTED);
const OUR_HTML = ["<br>", "<details><summary>Recent events</summary>", "</details>"];

const LIVE_MENTION = /@[\p{L}\p{N}_]/u;
const CODE = new Set(["code", "inlineCode"]);

/** A generated state of one blank pending agent with `mergeSummary`: a counterexample kept as an example. */
function oneAgentWithSummary(mergeSummary: string) {
  const agent = {
    agentId: "",
    domain: "",
    status: "pending" as const,
    filesTotal: 0,
    filesDone: 0,
    summary: null,
    error: null,
    updatedMinute: 0,
    events: [],
  };
  return { agents: [agent], nowMinute: undefined, finalized: false, event: "", mergeSummary };
}

/** A node's text as GitHub links mentions in it: code spans stand apart (a space), never part of a mention. */
function prose(node: MdNode): string {
  if (CODE.has(node.type)) return " ";
  if (node.type === "html") return node.value === "<br>" ? "\n" : "";
  return node.value ?? (node.children ?? []).map(prose).join("");
}

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
  /** Minutes after the run's start of the agent's last report. */
  updatedMinute: fc.integer({ min: 0, max: 60 }),
  events: fc.array(
    fc.record({
      at: fc.oneof(
        fc.integer({ min: 0, max: 3000 }).map((minute) => new Date(START_MS + minute * 60_000).toISOString()),
        agentText,
      ),
      message: agentText,
    }),
    { maxLength: 5 },
  ),
});

const stateArb = fc.record({
  agents: fc.array(agentArb, { minLength: 1, maxLength: 6 }),
  /** The time the comment is rendered at, minutes after the start; absent: no time given. */
  nowMinute: fc.option(fc.integer({ min: 0, max: 90 }), { nil: undefined }),
  finalized: fc.boolean(),
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
    // Keyed by position: generated agent ids may collide.
    agents[`k${index}`] = makeAgent(
      spec.domain,
      spec.status,
      Math.min(spec.filesDone, spec.filesTotal),
      spec.filesTotal,
      {
        agentId: spec.agentId,
        updatedAt: new Date(START_MS + spec.updatedMinute * 60_000).toISOString(),
        summary: spec.summary,
        error: spec.error,
        events: spec.events,
      },
    );
  });
  return makeRun([], {
    runId: RUN_ID,
    completedAt: generated.finalized ? "2025-10-19T16:42:00.000Z" : null,
    seq: 7,
    event: generated.event,
    agents,
    mergeSummary: generated.mergeSummary,
  });
}

/** Checks the body and returns its parsed tree (parsing is the costly part: once per body). */
function checkBody(body: string, state: RunState, kind: "progress" | "final", now?: number) {
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
    const flags = now === undefined ? null : agentFlags(agent, state, now);
    if (flags?.stalled) {
      expect(["pending", "in_progress"]).toContain(agent.status);
      expect(cells[2]).toMatch(/^⚠️ Stalled \(\d+ (second|minute|hour)s?( \d+ minutes?)?\)$/);
    } else {
      expect(cells[2]).toBe(STATUS_LABELS[agent.status]);
    }
    expect(cells[3]).toBe(`${agent.filesCompleted}/${agent.filesTotal}`);
  });

  // No HTML but ours (the marker, <br>, the events' <details> wrapper); the marker is the body's last
  // node, outside any code block.
  const html = nodes.filter((node) => node.type === "html").map((node) => node.value ?? "");
  for (const value of html) expect(OUR_HTML.includes(value) || parseMarker(value) !== null).toBe(true);
  expect(html.filter((value) => parseMarker(value) !== null)).toHaveLength(1);
  const last = tree.children!.at(-1)!;
  expect(last.type).toBe("html");
  expect(parseMarker(last.value!)).toMatchObject({ kind, runId: RUN_ID });
  expect(parseMarker(body)).toEqual({ kind, runId: RUN_ID, seq: kind === "progress" ? 7 : null });
  // One marker opening: a `<!--` elsewhere is in code (shown as written, no HTML there: the html check above).
  expect(body.match(/<!--\s*parallel-progress/gi)).toHaveLength(1);

  // The events block: our <details> at the top level around one list, one item per event shown.
  const shown = agents.reduce((sum, agent) => sum + Math.min(3, agent.events.length), 0);
  const top = tree.children!;
  const open = top.findIndex((node) => node.type === "html" && node.value === OUR_HTML[1]);
  expect(html.filter((value) => value === OUR_HTML[1])).toHaveLength(shown > 0 ? 1 : 0);
  expect(html.filter((value) => value === OUR_HTML[2])).toHaveLength(shown > 0 ? 1 : 0);
  if (shown > 0) {
    expect(top[open + 1]!.type).toBe("list");
    expect(top[open + 1]!.children).toHaveLength(shown);
    expect(top[open + 2]).toMatchObject({ type: "html", value: OUR_HTML[2] });
  }

  // No live mention anywhere in the visible text, also across inline nodes. Code is shown as written
  // (the merge summary's): GitHub links no mention in a code span or block, and one breaks the text around it.
  for (const node of nodes) {
    if (node.value !== undefined && !CODE.has(node.type)) expect(node.value).not.toMatch(LIVE_MENTION);
    if (node.type === "paragraph" || node.type === "tableCell" || node.type === "heading") {
      expect(prose(node)).not.toMatch(LIVE_MENTION);
    }
  }
  return tree;
}

const nowOf = (generated: Generated) =>
  generated.nowMinute === undefined ? undefined : START_MS + generated.nowMinute * 60_000;

/** The options for the generated time: `now` only when there is one (exactOptionalPropertyTypes). */
const timeOptions = (now: number | undefined) => (now === undefined ? {} : { now });

describe("agent text cannot break the comment (property)", () => {
  it("progress comment", () => {
    fc.assert(
      fc.property(stateArb, (generated) => {
        const state = toState(generated);
        const now = nowOf(generated);
        checkBody(renderProgressComment(state, timeOptions(now)), state, "progress", now);
      }),
      { numRuns: 60 },
    );
  });

  it("final comment, merge summary and durations included", () => {
    fc.assert(
      fc.property(stateArb, (generated) => {
        const state = toState(generated);
        const now = nowOf(generated);
        const tree = checkBody(renderFinalComment(state, timeOptions(now)), state, "final", now);
        // The durations: one list item per agent, under our heading.
        const top = tree.children!;
        const heading = top.findIndex((node) => node.type === "heading" && text(node) === "Agent Durations");
        expect(top[heading + 1]!.type).toBe("list");
        expect(top[heading + 1]!.children).toHaveLength(Object.keys(state.agents).length);
      }),
      {
        numRuns: 60,
        // Found by CI and a full run: merge summaries that are indented code blocks (an address, a comment opening).
        examples: [[oneAgentWithSummary("    a@b.co")], [oneAgentWithSummary("    <!--")]],
      },
    );
  });

  it("the Overall and Agents lines stay exact", () => {
    fc.assert(
      fc.property(stateArb, (generated) => {
        const state = toState(generated);
        const agents = Object.values(state.agents);
        const done = agents.reduce((sum, agent) => sum + agent.filesCompleted, 0);
        const total = agents.reduce((sum, agent) => sum + agent.filesTotal, 0);
        const all = agents.every((agent) => agent.status === "completed");
        const counted = total === 0 ? (all ? 100 : 0) : percent(done, total);
        const working = agents.some((agent) => agent.status === "pending" || agent.status === "in_progress");
        const progress = counted === 100 && working ? 99 : counted;
        const now = nowOf(generated);
        const stalled =
          now === undefined ? 0 : agents.filter((a) => agentFlags(a, state, now).stalled).length;
        expect(renderProgressComment(state, timeOptions(now))).toContain(
          `\n\n**Overall:** ${progress}% (${done}/${total} files)\n**Agents:** ${formatStatusCounts(statusCounts(agents), stalled)}\n`,
        );
      }),
      { numRuns: 50 },
    );
  });
});
