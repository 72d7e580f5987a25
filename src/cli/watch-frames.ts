import { webHost } from "../config/origin-host.js";
import { formatStatusCounts, overallProgress, statusCounts } from "../model/progress.js";
import { stalledCount } from "../model/stalled.js";
import type { RunState } from "../model/types.js";
import { cutPainted, fitColumns } from "../render/terminal.js";
import { cleanText, truncateCodePoints } from "../render/text.js";

/**
 * What `watch` prints, as pure functions of the run: the plain line per change (stdout not a terminal)
 * and the full-screen frame (a terminal). The I/O loop is in watch.ts.
 */

/** ANSI sequences the terminal view uses. */
export const ANSI = {
  home: "\x1b[H",
  clearLine: "\x1b[K",
  clearBelow: "\x1b[J",
  hideCursor: "\x1b[?25l",
  showCursor: "\x1b[?25h",
  /** Lines wider than the terminal are cut at its edge instead of wrapping (DECAWM off, then on again). */
  noWrap: "\x1b[?7l",
  wrap: "\x1b[?7h",
} as const;

/** Identifies a change of the run. Bookkeeping-only writes (GitHub sync) keep it, so they print nothing. */
export function changeKey(state: RunState): string {
  return `${state.runId}:${state.seq}:${state.completedAt ?? ""}`;
}

/** When the run last changed: the latest of its start, its finalization and its agents' reports (epoch ms). */
function lastChangeAt(state: RunState): number {
  const times = [state.startedAt, state.completedAt, ...Object.values(state.agents).map((a) => a.updatedAt)];
  let latest = Number.NEGATIVE_INFINITY;
  for (const time of times) {
    const ms = time === null ? Number.NaN : Date.parse(time);
    if (ms > latest) latest = ms;
  }
  return latest;
}

/** `16:31:05` in the local time zone; `--:--:--` for an unknown time. */
export function clockTime(ms: number): string {
  if (!Number.isFinite(ms)) return "--:--:--";
  const date = new Date(ms);
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, "0"))
    .join(":");
}

/** One line of agent or run text: no control characters, no line breaks, not too long. */
function oneLine(text: string, max = 160): string {
  return truncateCodePoints(cleanText(text).replace(/\s+/g, " ").trim(), max);
}

/**
 * What changed from `previous` to `state`: the run's event line, or an agent's newest log entry when
 * that is the change (a log entry keeps the event line).
 */
export function describeChange(state: RunState, previous: RunState | null): string {
  if (previous && previous.runId === state.runId && previous.event === state.event) {
    for (const agent of Object.values(state.agents)) {
      const newest = agent.events?.at(-1);
      const before = previous.agents[agent.agentId]?.events?.at(-1);
      if (newest && (newest.at !== before?.at || newest.message !== before?.message)) {
        // A child's event is also in its parent's log, marked with the child's id.
        return `Agent ${oneLine(newest.agentId ?? agent.agentId, 80)}: ${oneLine(newest.message.trim())}`;
      }
    }
  }
  const newRun =
    previous !== null && previous.runId !== state.runId ? ` (new run ${oneLine(state.runId, 80)})` : "";
  return `${oneLine(state.event)}${newRun}`;
}

/**
 * The plain line for a change: `16:31:05 Agent impl-bac-163000 progress updated — 62% (10/16 files),
 * 1 pending, 1 running, 1 completed, 0 failed` (and `, 1 stalled` at `now`, as `status` counts them).
 * When changes were made faster than they were seen, says how many this line covers (the state keeps
 * only the latest).
 */
export function changeLine(state: RunState, previous: RunState | null, now: number): string {
  const overall = overallProgress(Object.values(state.agents));
  const counts = formatStatusCounts(statusCounts(Object.values(state.agents)), stalledCount(state, now));
  const skipped =
    previous && previous.runId === state.runId && state.seq - previous.seq > 1
      ? ` (${state.seq - previous.seq} changes)`
      : "";
  return `${clockTime(lastChangeAt(state))} ${describeChange(state, previous)}${skipped} — ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files), ${counts}`;
}

/** Where the run is posted: the progress comment, else the issue, else "local". */
export function runLocation(state: RunState): string {
  const { github, sync } = state;
  if (!github.syncEnabled || github.issueNumber === null || github.repo === null) return "local";
  if (sync.commentUrl) return oneLine(sync.commentUrl, 200);
  const web = webUrl(github.apiUrl);
  return web ? `${web}/${github.repo}/issues/${github.issueNumber}` : `${github.repo}#${github.issueNumber}`;
}

/**
 * GitHub's web address for an API URL (its web host: webHost): https://api.github.com →
 * https://github.com, https://api.acme.ghe.com → https://acme.ghe.com, https://ghe.example/api/v3 →
 * https://ghe.example; null for another API (a stand-in on loopback), whose web pages are unknown.
 */
function webUrl(apiUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return null;
  }
  if (/^api\.(github\.com|[^.]+\.ghe\.com)$/i.test(url.hostname)) return `https://${webHost(apiUrl)}`;
  const path = url.pathname.replace(/\/+$/, "");
  return path === "/api/v3" ? url.origin : null;
}

interface FrameOptions {
  /** The run table, already rendered for the terminal's width. */
  table: string;
  /** What is watched, for the footer: the epic directory, or the epic in its database (no password). */
  watching: string;
  /** Terminal rows; the frame is cut to fit (header and footer kept). Absent: no limit. */
  rows?: number;
  /** Terminal columns; header and footer are cut to fit. Absent: no limit. */
  columns?: number;
  /** Paints the header (chalk's `bold`), or null for no colour. */
  bold: ((text: string) => string) | null;
  /** Why the frame may be out of date (the run cannot be read, or is gone), shown as the footer. */
  notice?: string | null;
}

/** The screen's lines: header, the table, footer. */
export function frameLines(state: RunState, options: FrameOptions): string[] {
  const width =
    options.columns !== undefined && options.columns > 0 ? options.columns : Number.POSITIVE_INFINITY;
  // By screen columns: a CJK character takes two, and a line wider than the terminal would wrap and push
  // the frame past its rows.
  const cut = (text: string) => fitColumns(text, width);
  const header = cut(
    `${oneLine(state.epicId, 80)} · run ${oneLine(state.runId, 80)} · ${runLocation(state)} · last change ${clockTime(lastChangeAt(state))}`,
  );
  const footer = cut(
    options.notice
      ? `warning: ${options.notice}`
      : state.completedAt
        ? `run finalized at ${clockTime(Date.parse(state.completedAt))}`
        : `watching ${cleanText(options.watching)} (Ctrl-C to stop)`,
  );
  // The table's rows too (a row wider than the terminal would wrap), their colours kept.
  const lines = options.table.split("\n").map((line) => cutPainted(line, width));
  const rows = options.rows !== undefined && options.rows > 0 ? options.rows : Number.POSITIVE_INFINITY;
  const shown = fitRows(lines, Math.max(0, rows - 2));
  return [options.bold ? options.bold(header) : header, ...shown, footer].slice(0, rows);
}

/**
 * The table's lines in `room` rows, a blank line around them: whole when they fit; else the agents' rows
 * are cut (the column titles kept, a line saying how many are not shown), so that the run's summary below
 * them (Overall, Agents, Cost and its budget flag, the ETA, the failures: after the table's first blank
 * line) stays on screen whatever the number of agents; else, on a terminal too short even for that, the
 * lines are cut from the bottom.
 */
function fitRows(lines: readonly string[], room: number): string[] {
  const body = ["", ...lines, ""];
  if (body.length <= room) return body;
  const gap = lines.indexOf("");
  const [table, summary] = gap < 0 ? [lines, []] : [lines.slice(0, gap), lines.slice(gap)];
  // Two blank lines, the column titles, at least one agent's row and the line that counts the rest.
  const rowsRoom = room - summary.length - 4;
  if (table.length > 1 && rowsRoom >= 1) {
    const hidden = table.length - 1 - rowsRoom;
    return [
      "",
      ...table.slice(0, 1 + rowsRoom),
      `… ${hidden} more row${hidden === 1 ? "" : "s"}`,
      ...summary,
      "",
    ];
  }
  return [...body.slice(0, Math.max(0, room - 1)), "…"].slice(0, room);
}

/**
 * The bytes that replace the screen with `lines`: what is below the frame erased, then from the cursor's
 * home each line over the previous one's (erased first). One write, so there is no blank flash between
 * frames. Each line is erased before it is written, not after: with wrapping off (ANSI.noWrap) the
 * cursor stays on a full line's last character, which an erase after it would remove.
 */
export function drawFrame(lines: readonly string[]): string {
  const below = `\x1b[${lines.length + 1};1H${ANSI.clearBelow}`;
  return `${below}${ANSI.home}${lines.map((line) => `${ANSI.clearLine}${line}`).join("\n")}`;
}
