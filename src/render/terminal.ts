import {
  formatStatusCounts,
  overallProgress,
  sortByDomain,
  statusCounts,
  toAgentView,
} from "../model/progress.js";
import type { AgentStatus, AgentView, RunState } from "../model/types.js";
import { cleanText } from "./text.js";

/**
 * The run as a table for `status` in a terminal. Pure: colour comes in as a chalk instance (or null).
 * Agent text is stripped of control characters (no escape sequences reach the terminal).
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

export interface TerminalOptions {
  /** null: no colour. */
  color: Colors | null;
  /** Terminal columns; the Domain and Agent columns are shortened to fit. Absent: no limit. */
  width?: number;
}

export const BAR_WIDTH = 20;
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

/** Columns a code point takes: 0 for marks and joiners, 2 for wide East Asian and emoji, else 1. */
function charWidth(point: number): number {
  if ((point >= 0x300 && point <= 0x36f) || point === 0x200d || (point >= 0xfe00 && point <= 0xfe0f))
    return 0;
  const wide =
    (point >= 0x1100 && point <= 0x115f) ||
    (point >= 0x2e80 && point <= 0xa4cf) ||
    (point >= 0xac00 && point <= 0xd7a3) ||
    (point >= 0xf900 && point <= 0xfaff) ||
    (point >= 0xfe30 && point <= 0xfe4f) ||
    (point >= 0xff00 && point <= 0xff60) ||
    (point >= 0xffe0 && point <= 0xffe6) ||
    (point >= 0x1f300 && point <= 0x1faff) ||
    (point >= 0x20000 && point <= 0x3fffd);
  return wide ? 2 : 1;
}

export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char.codePointAt(0)!);
  return width;
}

/** One line, no control characters, at most `width` columns (an ellipsis when cut). */
function fitColumns(text: string, width: number): string {
  const line = cleanText(text).replace(/[\t\n]/g, " ");
  if (displayWidth(line) <= width) return line;
  let out = "";
  let used = 0;
  for (const char of line) {
    const w = charWidth(char.codePointAt(0)!);
    if (used + w > width - 1) break;
    out += char;
    used += w;
  }
  return `${out}…`;
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

export function renderTerminalTable(state: RunState, options: TerminalOptions): string {
  const color = options.color;
  const paint = (name: keyof Colors, text: string) => (color ? color[name](text) : text);
  const agents = sortByDomain(Object.values(state.agents));
  const views: AgentView[] = agents.map(toAgentView);

  const files = views.map((view) => `${view.filesCompleted}/${view.filesTotal}`);
  const statusWidth = widest("Status", Object.values(LABELS));
  const filesWidth = widest("Files", files);
  const progressWidth = BAR_WIDTH + " 100%".length;
  let domainWidth = widest(
    "Domain",
    views.map((view) => fitColumns(view.domain, Number.POSITIVE_INFINITY)),
  );
  let agentWidth = widest(
    "Agent",
    views.map((view) => fitColumns(view.agentId, Number.POSITIVE_INFINITY)),
  );
  if (options.width !== undefined) {
    const fixed = statusWidth + filesWidth + progressWidth + GAP.length * 4;
    let excess = domainWidth + agentWidth + fixed - options.width;
    const shrinkDomain = Math.min(Math.max(0, excess), Math.max(0, domainWidth - MIN_TEXT_COLUMN));
    domainWidth -= shrinkDomain;
    excess -= shrinkDomain;
    agentWidth -= Math.min(Math.max(0, excess), Math.max(0, agentWidth - MIN_TEXT_COLUMN));
  }

  const header = [
    pad("Domain", domainWidth),
    pad("Agent", agentWidth),
    pad("Status", statusWidth),
    pad("Files", filesWidth),
    "Progress",
  ].join(GAP);
  const lines = [paint("bold", header)];
  views.forEach((view, index) => {
    const bar = progressBar(view.progress);
    const cells = [
      pad(fitColumns(view.domain, domainWidth), domainWidth),
      pad(fitColumns(view.agentId, agentWidth), agentWidth),
      paint(PAINT[view.status], pad(LABELS[view.status], statusWidth)),
      pad(files[index]!, filesWidth),
      `${paint(PAINT[view.status], "█".repeat(bar.filled))}${paint("dim", "░".repeat(bar.empty))} ${`${view.progress}%`.padStart(4)}`,
    ];
    lines.push(cells.join(GAP));
  });

  const overall = overallProgress(agents);
  lines.push(
    "",
    `${paint("bold", "Overall:")} ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files)`,
    formatStatusCounts(statusCounts(agents)),
  );

  const failures = agents.filter(
    (agent) => agent.status === "failed" || (agent.status === "cancelled" && agent.error),
  );
  const reasonWidth = options.width === undefined ? 500 : Math.max(20, options.width - 4);
  for (const agent of failures) {
    const reason = agent.error?.trim() || "no reason given";
    const line = `  ${fitColumns(agent.domain, 30)}: ${fitColumns(reason, reasonWidth)}`;
    lines.push(paint(PAINT[agent.status], fitColumns(line, reasonWidth)));
  }
  return lines.join("\n");
}
