import type { AgentStatus } from "../model/types.js";
import { escapeBlock, escapeWholeBlock } from "./escape.js";
import {
  blockCost,
  type FlexPart,
  goneNote,
  inOrder,
  type ListFrame,
  type ListPart,
  leastList,
  parentIndexes,
  planList,
  rankOrder,
  unkeptAncestry,
  wholeList,
} from "./lists.js";
import { formatCount, sliceWhole } from "./text.js";

/**
 * Fitting a comment into GitHub's size limit. Pure.
 *
 * A body is a list of blocks joined by one blank line ("\n\n"); the table is one block (header,
 * delimiter and rows joined by "\n"). Only these parts vary in size: the recent events, the agent
 * durations and the timeline (final summary), the table rows, the failures list and the merge summary.
 * When the whole body is too long they are shrunk in that order:
 *   1. the recent events cut ("- … 4 more events not shown"), each agent's newest kept longest, then
 *      replaced by one line ("… 60 recent events not shown");
 *   2. the agent durations cut ("- … and 12 more"), then the timeline's bars grouped (see timeline.ts);
 *   3. completed rows folded into one line ("✅ 1,200 completed domains not listed");
 *   4. the other rows cut, failed and in-progress ones kept first ("… and 40 more domains");
 *   in 3 and 4 a row shown keeps its ancestors' rows, so no child is shown under another agent;
 *   5. the failures list cut ("- … and 12 more");
 *   6. the merge summary cut (with a note).
 * First the timeline takes up to TIMELINE_RESERVE (an eighth of the room at most), the durations their
 * heading and "- … and N more" line, and events left out their one line (each when the room holds it).
 * Then the table, the failures and the merge summary are fitted in the rest: the table whole when it fits
 * beside the others in full, else folded or cut as it must be. The table may take at least half of that
 * rest, the failures a quarter, so a huge merge summary cannot push the table out. Whatever these three
 * leave, the room a folded table frees included, goes to the timeline, the durations and the events, in
 * that order; whatever a part does not need goes to the next one.
 * Below the size of the fixed parts themselves, the body is cut hard, keeping the marker when it fits.
 */

export interface TableRow {
  status: AgentStatus;
  line: string;
  /** 0 for a top-level agent, 1 for its children, ... (rows come in tree order: see tree.ts). Absent: 0. */
  depth?: number;
}

export interface CommentParts {
  /** Blocks above the table: title, event, mode and start. */
  head: readonly string[];
  /** The table header and delimiter lines. */
  tableHeader: string;
  /** All rows, in display order. */
  rows: readonly TableRow[];
  /** The Overall paragraph (with the Agents and ETA lines). */
  overall: string;
  /** Failure list items, most important first. */
  failures: readonly string[];
  /** The recent events block's items (see events.ts). */
  events: ListPart;
  /**
   * The final summary: its fixed blocks, the merge summary source text and the agent durations list;
   * null for a progress comment.
   */
  final: {
    blocks: readonly string[];
    summary: string;
    /** Characters of the summary the run did not keep (its last `…` stands for them; see escapeBlock). */
    summaryCut?: number;
    durations: ListPart;
    /** The Mermaid timeline, after the durations. */
    timeline: FlexPart;
  } | null;
  marker: string;
}

interface Layout {
  rows: readonly string[];
  notes: readonly string[];
  failures: string | null;
  events: string | null;
  summary: string;
  durations: string | null;
  timeline: string | null;
}

function compose(parts: CommentParts, layout: Layout): string {
  const blocks = [
    ...parts.head,
    [parts.tableHeader, ...layout.rows].join("\n"),
    ...layout.notes,
    parts.overall,
  ];
  if (layout.failures !== null) blocks.push(layout.failures);
  if (layout.events !== null) blocks.push(layout.events);
  if (parts.final) {
    blocks.push(...parts.final.blocks);
    if (layout.summary !== "") blocks.push(layout.summary);
    if (layout.durations !== null) blocks.push(layout.durations);
    if (layout.timeline !== null) blocks.push(layout.timeline);
  }
  blocks.push(parts.marker);
  return blocks.join("\n\n");
}

const plural = (count: number, word: string) => `${formatCount(count)} ${word}${count === 1 ? "" : "s"}`;
const foldNote = (count: number) => `✅ ${plural(count, "completed domain")} not listed`;
const moreDomainsNote = (count: number) =>
  `… and ${formatCount(count)} more ${count === 1 ? "domain" : "domains"}`;

const FAILURES_FRAME: ListFrame = {
  wrap: (lines) => ["**Failures:**", ...lines].join("\n"),
  more: (count) => `- … and ${formatCount(count)} more`,
};

/** The durations of a progress comment: none. */
const NO_LIST: ListPart = { items: [], frame: FAILURES_FRAME };

/** Room the timeline may take from the table in a big run (a chart of a few dozen bars). */
const TIMELINE_RESERVE = 4000;

const rowsCost = (rows: readonly string[]) => rows.reduce((sum, row) => sum + row.length + 1, 0);
const notesCost = (notes: readonly string[]) => notes.reduce((sum, note) => sum + note.length + 2, 0);

/** Rows kept first when the table is cut. */
const ROW_PRIORITY: Record<AgentStatus, number> = {
  failed: 0,
  in_progress: 1,
  cancelled: 2,
  pending: 3,
  completed: 4,
};

interface TablePlan {
  rows: string[];
  notes: string[];
  cost: number;
}

/** The rows kept, in display order, with the notes saying how many completed and other rows are not. */
function shownRows(rows: readonly TableRow[], kept: ReadonlySet<number>): TablePlan {
  const lines = rows.flatMap((row, index) => (kept.has(index) ? [row.line] : []));
  let completed = 0;
  let other = 0;
  rows.forEach((row, index) => {
    if (kept.has(index)) return;
    if (row.status === "completed") completed += 1;
    else other += 1;
  });
  const notes = [
    ...(completed > 0 ? [foldNote(completed)] : []),
    ...(other > 0 ? [moreDomainsNote(other)] : []),
  ];
  return { rows: lines, notes, cost: rowsCost(lines) + notesCost(notes) };
}

/**
 * The table within `budget`: whole; else without the completed rows; else the most important rows that
 * fit. A row shown always comes with its ancestors' rows (completed or not), so that no child is ever
 * shown under another agent.
 */
function planTable(rows: readonly TableRow[], budget: number): TablePlan {
  const all = rows.map((row) => row.line);
  if (rowsCost(all) <= budget) return { rows: all, notes: [], cost: rowsCost(all) };

  const parents = parentIndexes(rows.map((row) => row.depth ?? 0));
  const withAncestors = (index: number, kept: ReadonlySet<number>) => unkeptAncestry(index, parents, kept);
  const open = rows.flatMap((row, index) => (row.status === "completed" ? [] : [index]));
  const unfolded = new Set<number>();
  for (const index of open) for (const at of withAncestors(index, unfolded)) unfolded.add(at);
  const folded = shownRows(rows, unfolded);
  if (folded.cost <= budget) return folded;

  // Keep the most important rows (each with its ancestors) that fit next to the notes, in the usual order.
  const completed = rows.length - open.length;
  const room =
    budget - notesCost([...(completed > 0 ? [foldNote(completed)] : []), moreDomainsNote(open.length)]);
  const kept = new Set<number>();
  let used = 0;
  for (const rank of rankOrder(open, (index) => ROW_PRIORITY[rows[index]!.status])) {
    const chain = withAncestors(open[rank]!, kept);
    const cost = rowsCost(chain.map((at) => rows[at]!.line));
    if (used + cost > room) break;
    used += cost;
    for (const at of chain) kept.add(at);
  }
  return shownRows(rows, kept);
}

/** The body, at most `maxLength` characters (`string.length`), whatever the parts. */
export function fitComment(parts: CommentParts, maxLength: number): string {
  const max = Math.max(0, Math.floor(maxLength));
  // The summary in full, unless it alone is past the limit (then it is cut below: its need is the limit).
  const summaryText = parts.final
    ? escapeWholeBlock(parts.final.summary, max, parts.final.summaryCut ?? 0)
    : "";
  const failureItems = inOrder(parts.failures);
  const durations = parts.final?.durations ?? NO_LIST;
  const rowLines = parts.rows.map((row) => row.line);
  if (summaryText !== null) {
    const whole = compose(parts, {
      rows: rowLines,
      notes: [],
      failures: wholeList(failureItems, FAILURES_FRAME),
      events: wholeList(parts.events.items, parts.events.frame),
      summary: summaryText,
      durations: wholeList(durations.items, durations.frame),
      timeline: parts.final?.timeline.whole ?? null,
    });
    if (whole.length <= max) return whole;
  }

  const empty = {
    rows: [],
    notes: [],
    failures: null,
    events: null,
    summary: "",
    durations: null,
    timeline: null,
  };
  const skeleton = compose(parts, empty);
  const room = max - skeleton.length;
  if (room < 0) return cutHard(skeleton, parts.marker, max);

  // Their least room first: the timeline a small share (bounded: see timeline.ts), the durations' heading
  // and "- … and N more" line, the events' one line ("… N recent events not shown"), each when it fits.
  const timeline = parts.final?.timeline ?? null;
  const timelineFloor = timeline?.plan(Math.min(TIMELINE_RESERVE, Math.floor(room / 8))).cost ?? 0;
  const durationsLeast = blockCost(leastList(durations.items, durations.frame));
  const durationsFloor = durationsLeast <= room - timelineFloor ? durationsLeast : 0;
  const eventsLeast = blockCost(goneNote(parts.events.items, parts.events.frame));
  const eventsFloor = eventsLeast <= room - timelineFloor - durationsFloor ? eventsLeast : 0;
  const core = room - timelineFloor - durationsFloor - eventsFloor;

  // Then the table (whole when it fits beside the others in full, else folded or cut), the failures and
  // the merge summary.
  const summaryNeed = summaryText === null ? max + 1 : blockCost(summaryText);
  const failuresNeed = blockCost(wholeList(failureItems, FAILURES_FRAME));
  const table = planTable(
    parts.rows,
    Math.min(rowsCost(rowLines), Math.max(core - failuresNeed - summaryNeed, Math.floor(core / 2))),
  );
  const afterTable = Math.max(0, core - table.cost);
  const failures = planList(
    failureItems,
    FAILURES_FRAME,
    Math.min(afterTable, Math.max(afterTable - summaryNeed, Math.floor(core / 4))),
  );
  const summaryRoom = core - table.cost - failures.cost - 2;
  const summary =
    parts.final && summaryRoom > 0
      ? escapeBlock(parts.final.summary, summaryRoom, parts.final.summaryCut ?? 0)
      : "";

  // What they leave (the room a folded table frees too) goes to the timeline, the durations and the
  // events, in that order, each keeping the least room taken for the next ones.
  const left = room - table.cost - failures.cost - blockCost(summary);
  const timelinePlan = timeline?.plan(left - durationsFloor - eventsFloor) ?? { block: null, cost: 0 };
  const durationsPlan = planList(durations.items, durations.frame, left - timelinePlan.cost - eventsFloor);
  const eventsPlan = planList(
    parts.events.items,
    parts.events.frame,
    left - timelinePlan.cost - durationsPlan.cost,
  );
  const body = compose(parts, {
    rows: table.rows,
    notes: table.notes,
    failures: failures.block,
    events: eventsPlan.block,
    summary,
    durations: durationsPlan.block,
    timeline: timelinePlan.block,
  });
  return body.length <= max ? body : cutHard(skeleton, parts.marker, max);
}

/** Last resort for a `maxLength` below the fixed parts: the start of the body, then the marker if it fits. */
function cutHard(body: string, marker: string, max: number): string {
  if (body.length <= max) return body;
  const room = max - marker.length - 2;
  if (room < 0) return sliceWhole(body, max);
  const head = sliceWhole(body.slice(0, body.length - marker.length - 2), room).trimEnd();
  return head === "" ? marker : `${head}\n\n${marker}`;
}
