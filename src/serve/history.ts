import type { AgentRow, PageView } from "./view.js";

/**
 * The burn-up chart's data: files done (and the total) over time, per agent and for the run. Pure.
 *
 * The run state keeps only each agent's latest counts, so the history is what the server learns:
 * when it starts, every agent at 0 when the run started (and when it left pending) and at its current
 * count when it last reported (`updatedAt`): the page draws that stretch as straight lines, since when
 * each file was done in between is not known. From then on, one point per agent whose counts change at
 * each change the server is notified of, drawn as steps. Times are the agents' `updatedAt` (the store's
 * clock), not the server's, so late notifications draw true. Kept in memory: page reloads get it all; a
 * restarted server starts again from the state.
 */

/** `[epoch ms, files done, files total]`. */
export type Point = [at: number, done: number, total: number];

export interface History {
  runId: string;
  startedAt: number;
  /** Points up to this time were reconstructed from the state when the server started (drawn straight). */
  observedFrom: number;
  overall: Point[];
  agents: Record<string, Point[]>;
}

/** Points kept per series: past this, every other older point is dropped (the page does the same). */
export const MAX_POINTS = 400;

/** The points a change adds, to send to pages that already have the rest. */
export interface HistoryAppend {
  overall: Point[];
  agents: Record<string, Point[]>;
}

/** Halves a series that grew past MAX_POINTS, keeping its first and last points. Same rule in the page. */
export function thin(points: Point[]): Point[] {
  if (points.length <= MAX_POINTS) return points;
  return points.filter((_, index) => index % 2 === 0 || index === points.length - 1);
}

const timeOf = (row: AgentRow, floor: number) => Math.max(floor, Date.parse(row.updatedAt) || floor);

/** Series with children: their counts are their children's sums, so the run's line counts leaves only. */
function leafIds(rows: readonly AgentRow[]): Set<string> {
  const parents = new Set(rows.map((row) => row.parentId).filter((id) => id !== null));
  return new Set(rows.filter((row) => !parents.has(row.agentId)).map((row) => row.agentId));
}

export function seedHistory(view: PageView): History {
  const startedAt = Date.parse(view.run.startedAt);
  const agents: Record<string, Point[]> = {};
  for (const row of view.agents) {
    const points: Point[] = [[startedAt, 0, row.filesTotal]];
    const left = row.startedAt === null ? Number.NaN : Date.parse(row.startedAt);
    const at = timeOf(row, startedAt);
    if (left > startedAt && left < at && row.filesCompleted > 0) points.push([left, 0, row.filesTotal]);
    if (row.filesCompleted > 0 || at > startedAt) points.push([at, row.filesCompleted, row.filesTotal]);
    agents[row.agentId] = points;
  }
  // The run's line passes through each leaf agent's last report, in time order.
  const leaves = leafIds(view.agents);
  const reports = view.agents
    .filter((row) => leaves.has(row.agentId) && row.filesCompleted > 0)
    .map((row) => ({ at: timeOf(row, startedAt), done: row.filesCompleted }))
    .sort((a, b) => a.at - b.at);
  const total = view.run.overall.filesTotal;
  const overall: Point[] = [[startedAt, 0, total]];
  const firstLeft = Math.min(
    ...view.agents.map((row) =>
      row.startedAt === null ? Number.POSITIVE_INFINITY : Date.parse(row.startedAt),
    ),
  );
  if (firstLeft > startedAt && firstLeft < (reports[0]?.at ?? 0)) overall.push([firstLeft, 0, total]);
  let done = 0;
  for (const report of reports) {
    done += report.done;
    if (overall.at(-1)![0] === report.at) overall.pop();
    overall.push([report.at, done, total]);
  }
  const observedFrom = Math.max(view.run.at, ...overall.map((point) => point[0]));
  return { runId: view.run.runId, startedAt, observedFrom, overall: thin(overall), agents };
}

/** Adds the points of a new view of the same run; returns what was added. */
export function extendHistory(history: History, view: PageView): HistoryAppend {
  const added: HistoryAppend = { overall: [], agents: {} };
  let latest = history.overall.at(-1)?.[0] ?? history.startedAt;
  for (const row of view.agents) {
    const series = history.agents[row.agentId] ?? [];
    const last = series.at(-1);
    if (last && last[1] === row.filesCompleted && last[2] === row.filesTotal) continue;
    const at = timeOf(row, last?.[0] ?? history.startedAt);
    const point: Point = [at, row.filesCompleted, row.filesTotal];
    history.agents[row.agentId] = thin([...series, point]);
    added.agents[row.agentId] = [point];
    latest = Math.max(latest, at);
  }
  const { filesCompleted, filesTotal } = view.run.overall;
  const last = history.overall.at(-1);
  if (!last || last[1] !== filesCompleted || last[2] !== filesTotal) {
    const point: Point = [latest, filesCompleted, filesTotal];
    history.overall = thin([...history.overall, point]);
    added.overall.push(point);
  }
  return added;
}
