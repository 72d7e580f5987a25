import stringWidth from "string-width";
import { estimateRemainingMs, formatEta } from "../model/eta.js";
import { formatRunCost, type MetricsView, metricCells, metricsView, metricTitles } from "../model/metrics.js";
import {
  formatDuration,
  formatStatusCounts,
  overallProgress,
  statusCounts,
  toAgentView,
  withOpenDescendants,
} from "../model/progress.js";
import { agentFlags } from "../model/stalled.js";
import { treeOrder } from "../model/tree.js";
import type { AgentState, AgentStatus, RunState } from "../model/types.js";
import { terminalChildMark } from "./labels.js";
import { cleanText } from "./text.js";
import { eventClock } from "./time.js";

/**
 * The run as a table for `status` in a terminal. Pure: colour comes in as a chalk instance (or null).
 * Agent text is stripped of control characters (no escape sequences reach the terminal).
 *
 *   Domain    Agent            Status                Files  Progress
 *   backend   impl-bac-163000  Stalled (20 minutes)  3/7    █████████░░░░░░░░░░░  43%
 *     ↳ 16:31:05 compiled module A                 (dim: the agent's last event, if any)
 *   frontend  impl-fro-163000  Pending               0/5    ░░░░░░░░░░░░░░░░░░░░   0%
 *     ↳ api   impl-api-163500  Pending               0/5    ░░░░░░░░░░░░░░░░░░░░   0%   (a child: indented)
 *                                                  (then Iteration, Criteria, Cost once some agent reports one)
 *
 *   Overall: 19% (3/16 files)
 *   Agents: 1 pending, 1 running, 0 completed, 0 failed, 1 stalled
 *   Cost: $8.50 of $10.00 budget ⚠️ 85% used      (once some agent reported a cost)
 *   ETA: ~4 minutes                                (only with `now` and enough data)
 *     qa: <failure reason>                         (failed, and cancelled with a reason)
 */

type Paint = (text: string) => string;

/** What is used of a chalk instance; `chalk` itself fits. */
export interface Colors {
  bold: Paint;
  dim: Paint;
  gray: Paint;
  green: Paint;
  red: Paint;
  yellow: Paint;
  cyan: Paint;
}

interface TerminalOptions {
  /** null: no colour. */
  color: Colors | null;
  /** Terminal columns; the Domain column is shortened to fit (never the agent id). Absent: no limit. */
  width?: number;
  /** The current time (epoch ms). Absent: no ETA and no stalled marks. */
  now?: number;
}

const BAR_WIDTH = 20;
const GAP = "  ";
const MIN_TEXT_COLUMN = 6;

const LABELS: Record<AgentStatus, string> = {
  pending: "Pending",
  in_progress: "In Progress",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

const PAINT: Record<AgentStatus, keyof Colors> = {
  pending: "gray",
  in_progress: "yellow",
  completed: "green",
  failed: "red",
  cancelled: "gray",
};

/**
 * Grapheme clusters: an emoji sequence (👨‍👩‍👧, 🇫🇷) or a letter with its marks is one thing on screen.
 * Making a segmenter loads ICU's break data (about 10 ms; string-width makes one as it loads too): this
 * module is only in the bundles that draw a table (cli-terminal-table, cli-watch), never in main.cjs.
 */
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * Columns `text` takes in a terminal: 0 for marks and joiners, 2 for wide East Asian characters and emoji
 * (✅ ⏳ included), by grapheme. Measured by string-width (the width tables of Unicode's own data, kept
 * by the community) rather than ranges of our own.
 */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** Colour sequences (SGR, as chalk writes them): they take no column. */
const PAINT_SEQUENCE = /(\x1b\[[0-9;]*m)/;

/**
 * A line of the terminal table, its colours kept, cut to `width` columns: `…` last and the colours reset
 * when something was cut (wide characters count 2). A line that fits is returned as it is.
 */
export function cutPainted(line: string, width: number): string {
  // string-width leaves colour sequences out of the count.
  if (displayWidth(line) <= width) return line;
  // Split by a capturing group: the odd pieces are the sequences.
  const pieces = line.split(PAINT_SEQUENCE);
  let out = "";
  let used = 0;
  for (const [index, piece] of pieces.entries()) {
    if (index % 2 === 1) {
      out += piece;
      continue;
    }
    for (const { segment } of graphemes.segment(piece)) {
      const w = stringWidth(segment);
      if (used + w > width - 1) return `${out}…${pieces.length > 1 ? "\x1b[0m" : ""}`;
      out += segment;
      used += w;
    }
  }
  return out;
}

/** One line, no control characters, at most `width` columns (an ellipsis when cut; wide characters count 2). */
export function fitColumns(text: string, width: number): string {
  return cutPainted(cleanText(text).replace(/[\t\n]/g, " "), width);
}

function widest(title: string, cells: readonly string[]): number {
  return cells.reduce((width, cell) => Math.max(width, displayWidth(cell)), title.length);
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - displayWidth(text)));
}

/** Filled cells in proportion, at least one when anything is done, all only at 100%. */
export function progressBar(progress: number): { filled: number; empty: number } {
  let filled = Math.round((progress / 100) * BAR_WIDTH);
  if (progress > 0) filled = Math.max(1, filled);
  if (progress < 100) filled = Math.min(BAR_WIDTH - 1, filled);
  filled = Math.max(0, Math.min(BAR_WIDTH, filled));
  return { filled, empty: BAR_WIDTH - filled };
}

interface Row {
  agent: AgentState;
  /** The Domain cell's text: indented under its parent. */
  domain: string;
  /** How deep the agent is (0: top level), and its domain alone: for a narrow Domain column (domainCell). */
  depth: number;
  name: string;
  /** The metric cells shown (those some agent reported). */
  metrics: string[];
  progress: number;
  files: string;
  label: string;
  paint: keyof Colors;
  stalled: boolean;
}

function toRow(
  agent: AgentState,
  depth: number,
  state: RunState,
  metrics: MetricsView,
  now: number | undefined,
  openBelow: boolean,
): Row {
  const view = toAgentView(agent, openBelow);
  const flags = now === undefined ? null : agentFlags(agent, state, now);
  const domain = cleanText(agent.domain).replace(/[\t\n]/g, " ");
  return {
    agent,
    domain: `${terminalChildMark(depth)}${domain}`,
    depth,
    name: domain,
    metrics: metricCells(view, metrics),
    progress: view.progress,
    files: `${view.filesCompleted}/${view.filesTotal}`,
    label: flags?.stalled ? `Stalled (${formatDuration(flags.silentForMs)})` : LABELS[view.status],
    paint: flags?.stalled ? "red" : PAINT[view.status],
    stalled: flags?.stalled ?? false,
  };
}

/**
 * The Domain cell in `width` columns: indented under its parent, whole when it fits (a short name deep down
 * too). Where it is cut and the indentation would leave the name fewer than 3 columns (deep nesting in a
 * narrow terminal), the depth as a number instead (`8└ db…`), so that the levels and the names still show.
 */
function domainCell(row: Row, width: number): string {
  const mark = terminalChildMark(row.depth);
  const fits = displayWidth(row.domain) <= width;
  if (fits || row.depth === 0 || width - displayWidth(mark) >= 3) return fitColumns(row.domain, width);
  return fitColumns(`${row.depth}└ ${row.name}`, width);
}

/** The agent's last event, `↳ 16:31:05 message`, or null. */
function lastEvent(agent: AgentState, runStartedAt: string): string | null {
  const event = agent.events?.at(-1);
  if (!event) return null;
  const at = eventClock(event.at, runStartedAt);
  const from = event.agentId === undefined ? "" : `[${event.agentId}] `;
  return `↳ ${at === null ? "" : `${at} `}${from}${event.message.trim()}`;
}

export function renderTerminalTable(state: RunState, options: TerminalOptions): string {
  const color = options.color;
  const paint = (name: keyof Colors, text: string) => (color ? color[name](text) : text);
  const entries = treeOrder(Object.values(state.agents));
  const agents = entries.map((entry) => entry.agent);
  const metrics = metricsView(state, agents);
  const open = withOpenDescendants(state.agents);
  const rows = entries.map(({ agent, depth }) =>
    toRow(agent, depth, state, metrics, options.now, open.has(agent.agentId)),
  );
  const titles = metricTitles(metrics);
  const metricWidths = titles.map((title, index) =>
    widest(
      title,
      rows.map((row) => row.metrics[index]!),
    ),
  );
  const metricsWidth = metricWidths.reduce((sum, width) => sum + width + GAP.length, 0);

  const statusWidth = widest("Status", [...Object.values(LABELS), ...rows.map((row) => row.label)]);
  const filesWidth = widest(
    "Files",
    rows.map((row) => row.files),
  );
  const progressWidth = BAR_WIDTH + " 100%".length;
  let domainWidth = widest(
    "Domain",
    rows.map((row) => fitColumns(row.domain, Number.POSITIVE_INFINITY)),
  );
  const agentWidth = widest(
    "Agent",
    agents.map((agent) => fitColumns(agent.agentId, Number.POSITIVE_INFINITY)),
  );
  // Only the Domain column is shortened: the agent id is never cut (it is what other commands take), so a
  // row may be wider than a very narrow terminal.
  if (options.width !== undefined) {
    const fixed = agentWidth + statusWidth + filesWidth + progressWidth + GAP.length * 4 + metricsWidth;
    domainWidth -= Math.min(
      Math.max(0, domainWidth + fixed - options.width),
      Math.max(0, domainWidth - MIN_TEXT_COLUMN),
    );
  }

  const header = [
    pad("Domain", domainWidth),
    pad("Agent", agentWidth),
    pad("Status", statusWidth),
    pad("Files", filesWidth),
    titles.length > 0 ? pad("Progress", progressWidth) : "Progress",
    ...titles.map((title, index) => (index === titles.length - 1 ? title : pad(title, metricWidths[index]!))),
  ].join(GAP);
  const lines = [paint("bold", header)];
  const lineWidth = options.width === undefined ? 500 : Math.max(20, options.width - 4);
  for (const row of rows) {
    const bar = progressBar(row.progress);
    const cells = [
      pad(domainCell(row, domainWidth), domainWidth),
      pad(fitColumns(row.agent.agentId, Number.POSITIVE_INFINITY), agentWidth),
      paint(row.paint, pad(row.label, statusWidth)),
      pad(row.files, filesWidth),
      `${paint(PAINT[row.agent.status], "█".repeat(bar.filled))}${paint("dim", "░".repeat(bar.empty))} ${`${row.progress}%`.padStart(4)}`,
      ...row.metrics.map((cell, index) =>
        index === row.metrics.length - 1 ? cell : pad(cell, metricWidths[index]!),
      ),
    ];
    lines.push(cells.join(GAP));
    const event = lastEvent(row.agent, state.startedAt);
    if (event !== null) lines.push(paint("dim", `  ${fitColumns(event, lineWidth)}`));
  }

  const overall = overallProgress(agents);
  const stalled = rows.filter((row) => row.stalled).length;
  lines.push(
    "",
    `${paint("bold", "Overall:")} ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files)`,
    `${paint("bold", "Agents:")} ${formatStatusCounts(statusCounts(agents), stalled)}`,
  );
  const cost = formatRunCost(metrics);
  if (cost !== null) lines.push(`${paint("bold", "Cost:")} ${cost}`);
  const eta = options.now === undefined ? null : estimateRemainingMs(state, options.now);
  if (eta !== null) lines.push(`${paint("bold", "ETA:")} ${formatEta(eta)}`);

  const failures = agents.filter(
    (agent) => agent.status === "failed" || (agent.status === "cancelled" && agent.error),
  );
  for (const agent of failures) {
    const reason = agent.error?.trim() || "no reason given";
    const line = `  ${fitColumns(agent.domain, 30)}: ${fitColumns(reason, lineWidth)}`;
    lines.push(paint(PAINT[agent.status], fitColumns(line, lineWidth)));
  }
  return lines.join("\n");
}
