import { agentSpan, type RunSpan } from "../model/agent-work.js";
import type { TreeEntry } from "../model/tree.js";
import type { AgentState, AgentStatus } from "../model/types.js";
import { STATUS_LABELS } from "./labels.js";
import { blockCost, type FlexPart, parentIndexes, rankOrder, unkeptAncestry } from "./lists.js";
import { cleanText, formatCount, truncateCodePoints } from "./text.js";

/**
 * The final summary's timeline: a Mermaid gantt chart (GitHub draws fenced `mermaid` blocks), one bar per
 * agent in table order, from when it started to when it finished (unfinished agents: to the run's end).
 * Pure.
 *
 *   ### Timeline
 *
 *   ```mermaid
 *   gantt
 *       title Agents (UTC)
 *       dateFormat YYYY-MM-DD HH:mm:ss
 *       axisFormat %H:%M
 *       section Agents
 *       ✅ backend :done, 2025-10-19 16:30:05, 2025-10-19 16:37:10
 *       ❌ qa :crit, 2025-10-19 16:31:00, 2025-10-19 16:38:00
 *       ⏹️ docs :crit, done, …          (cancelled; `crit, milestone` if it never started)
 *       🔄 ops :active, …               (unfinished at the end)
 *       ⏳ ↳ api :milestone, …          (never started: a diamond at the run's end; ↳ marks a child)
 *   ```
 *
 * Agent text cannot break the chart: labels are one line with Mermaid's separators (`:` `;` `#` `%`),
 * backticks, angle brackets, quotes and `@` replaced by look-alikes, and they start with the status icon,
 * so no label reads as a keyword (`title`, `section`, ...). Big runs: at most MAX_BARS bars, failed and
 * unfinished agents first (each with its ancestors' bars); the others are grouped into one bar per
 * status ("✅ 950 more completed agents") spanning their earliest start to their latest end.
 */

export const MAX_BARS = 50;
const LABEL_LENGTH = 60;

const TAGS: Record<AgentStatus, string> = {
  completed: "done",
  failed: "crit",
  cancelled: "crit, done",
  in_progress: "active",
  pending: "active",
};

/** Bars kept first when the chart is cut (as the table: failed and running first). */
const PRIORITY: Record<AgentStatus, number> = {
  failed: 0,
  in_progress: 1,
  cancelled: 2,
  pending: 3,
  completed: 4,
};

const STATUS_WORDS: Record<AgentStatus, string> = {
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  in_progress: "unfinished",
  pending: "pending",
};

/** Characters with a meaning in a gantt line or a markdown fence, and their look-alikes. */
const LOOK_ALIKES: Record<string, string> = {
  ":": "꞉",
  ";": "；",
  "#": "＃",
  "%": "％",
  "`": "ˋ",
  "~": "∼",
  "<": "‹",
  ">": "›",
  '"': "＂",
  "@": "＠",
  "&": "＆",
  "\\": "⧵",
};

/** Agent text as one safe label of a gantt line. */
export function ganttLabel(text: string): string {
  const line = cleanText(text)
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[:;#%`~<>"@&\\]/g, (char) => LOOK_ALIKES[char] ?? char);
  return truncateCodePoints(line, LABEL_LENGTH) || "agent";
}

/** `2025-10-19 16:30:05` (UTC), the chart's dateFormat. */
function ganttTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

const icon = (status: AgentStatus) => STATUS_LABELS[status].split(" ")[0]!;

interface Span {
  status: AgentStatus;
  /** null: never started. */
  start: number | null;
  end: number;
}

/** The agent's span (agentSpan) kept within the run's. */
function spanOf(agent: AgentState, run: RunSpan): Span {
  const { start, end } = agentSpan(agent, run);
  const within = (ms: number) => Math.min(Math.max(ms, run.startedAt), Math.max(run.startedAt, run.endedAt));
  const from = start === null ? null : within(start);
  const to = within(end);
  return { status: agent.status, start: from, end: from === null ? to : Math.max(from, to) };
}

function barLine(label: string, span: Span): string {
  if (span.start === null) {
    const at = ganttTime(span.end);
    return `    ${label} :${span.status === "cancelled" ? "crit, milestone" : "milestone"}, ${at}, ${at}`;
  }
  // At least a second long, so the bar is drawn.
  const end = Math.max(span.end, span.start + 1000);
  return `    ${label} :${TAGS[span.status]}, ${ganttTime(span.start)}, ${ganttTime(end)}`;
}

function agentBar({ agent, depth }: TreeEntry<AgentState>, span: Span): string {
  const indent = depth > 0 ? `${"↳".repeat(depth)} ` : "";
  return barLine(`${icon(agent.status)} ${indent}${ganttLabel(agent.domain)}`, span);
}

/** One bar for the agents of one status left out: from the earliest start to the latest end. */
function groupBar(status: AgentStatus, spans: readonly Span[]): string {
  // Loops, not Math.min(...spread): a group may hold many thousands of agents.
  let start: number | null = null;
  let end = Number.NEGATIVE_INFINITY;
  for (const span of spans) {
    if (span.start !== null && (start === null || span.start < start)) start = span.start;
    end = Math.max(end, span.end);
  }
  const label = `${icon(status)} ${formatCount(spans.length)} more ${STATUS_WORDS[status]} ${spans.length === 1 ? "agent" : "agents"}`;
  return barLine(label, { status, start, end });
}

/** A day: a run longer than it labels its axis with the date too (times alone repeat each day). */
const DAY_MS = 24 * 60 * 60_000;

function wrap(lines: readonly string[], run: RunSpan): string {
  return [
    "### Timeline",
    "",
    "```mermaid",
    "gantt",
    "    title Agents (UTC)",
    "    dateFormat YYYY-MM-DD HH:mm:ss",
    `    axisFormat ${run.endedAt - run.startedAt > DAY_MS ? "%m-%d %H:%M" : "%H:%M"}`,
    "    section Agents",
    ...lines,
    "```",
  ].join("\n");
}

/** What every chart of a run needs, worked out once (a chart is drawn several times while it is fitted). */
interface Bars {
  entries: readonly TreeEntry<AgentState>[];
  run: RunSpan;
  spans: readonly Span[];
  /** Each entry's parent (parentIndexes). */
  parents: readonly number[];
  /** The entries' indexes, those to draw on their own first first. */
  ranked: readonly number[];
}

function barsOf(entries: readonly TreeEntry<AgentState>[], run: RunSpan): Bars {
  return {
    entries,
    run,
    spans: entries.map((entry) => spanOf(entry.agent, run)),
    parents: parentIndexes(entries.map((entry) => entry.depth)),
    ranked: rankOrder(entries, (entry) => PRIORITY[entry.agent.status]),
  };
}

/**
 * At most `count` entries to draw on their own, the most important first; each comes with its ancestors
 * (entries are in tree order), so a child's `↳` bar always follows its parent's, never another agent's.
 */
function keptBars({ parents, ranked }: Bars, count: number): Set<number> {
  const kept = new Set<number>();
  for (const index of ranked) {
    if (kept.size >= count) break;
    const chain = unkeptAncestry(index, parents, kept);
    if (kept.size + chain.length > count) continue;
    for (const at of chain) kept.add(at);
  }
  return kept;
}

/** The chart with at most `count` agents' own bars, the rest grouped by status. */
function chart(bars: Bars, count: number): string {
  const { entries, run, spans } = bars;
  if (entries.length <= count)
    return wrap(
      entries.map((entry, index) => agentBar(entry, spans[index]!)),
      run,
    );
  const kept = keptBars(bars, count);
  const lines = entries.flatMap((entry, index) => (kept.has(index) ? [agentBar(entry, spans[index]!)] : []));
  const rest = new Map<AgentStatus, Span[]>();
  entries.forEach((entry, index) => {
    if (kept.has(index)) return;
    const list = rest.get(entry.agent.status) ?? [];
    list.push(spans[index]!);
    rest.set(entry.agent.status, list);
  });
  const order = [...rest.keys()].sort((a, b) => PRIORITY[a] - PRIORITY[b]);
  return wrap([...lines, ...order.map((status) => groupBar(status, rest.get(status)!))], run);
}

/** Times the chart's dateFormat can write (four-digit years). */
const drawable = (ms: number) => Number.isFinite(ms) && ms >= 0 && ms < Date.UTC(10_000, 0, 1);

/** `entries` in display order (see tree.ts). No agents, or a run without a usable start: no chart. */
export function timelinePart(entries: readonly TreeEntry<AgentState>[], given: RunSpan): FlexPart {
  const run = {
    startedAt: given.startedAt,
    endedAt: drawable(given.endedAt) ? Math.max(given.startedAt, given.endedAt) : given.startedAt,
  };
  const bars = entries.length === 0 || !drawable(run.startedAt) ? null : barsOf(entries, run);
  const whole = bars === null ? null : chart(bars, MAX_BARS);
  return {
    whole,
    plan(budget) {
      if (bars === null || whole === null) return { block: null, cost: 0 };
      if (blockCost(whole) <= budget) return { block: whole, cost: blockCost(whole) };
      // Fewer own bars until it fits (binary search: the size grows with the number of bars).
      let low = 0;
      let high = Math.min(MAX_BARS, entries.length);
      let best: string | null = null;
      while (low <= high) {
        const mid = Math.floor((low + high) / 2);
        const block = chart(bars, mid);
        if (blockCost(block) <= budget) {
          best = block;
          low = mid + 1;
        } else high = mid - 1;
      }
      return best === null ? { block: null, cost: 0 } : { block: best, cost: blockCost(best) };
    },
  };
}
