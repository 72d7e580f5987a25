/**
 * List blocks (failures, recent events, agent durations) cut to a size budget. Pure.
 *
 * A list block is its items joined by "\n" inside a fixed frame (a title, a `<details>` wrapper). When
 * the whole block does not fit, the items ranked first that fit are kept, shown in their own order,
 * followed by a line saying how many were left out.
 */

export interface ListItem {
  line: string;
  /** Lower is kept first when the list is cut; ties keep the earlier item. */
  priority: number;
}

export interface ListFrame {
  /** The block around its lines (never called with no lines). */
  wrap(lines: readonly string[]): string;
  /** The last line of a cut list. */
  more(count: number): string;
  /**
   * A paragraph shown instead of the block when not even its frame and "more" line fit (absent: the block
   * is left out then).
   */
  gone?(count: number): string;
}

/** A list as a part of the comment: its items and its frame. */
export interface ListPart {
  items: readonly ListItem[];
  frame: ListFrame;
}

/** A block of the comment that shrinks by its own rules (the timeline): whole, or fitted to a budget. */
export interface FlexPart {
  whole: string | null;
  plan(budget: number): ListPlan;
}

interface ListPlan {
  block: string | null;
  /** Characters the block adds to the body. */
  cost: number;
}

/** What a block adds to the body: itself and the blank line before it; nothing when absent. */
export const blockCost = (block: string | null): number =>
  block === null || block === "" ? 0 : block.length + 2;

/** Items kept in the order given: failures and durations. */
export const inOrder = (lines: readonly string[]): ListItem[] =>
  lines.map((line, index) => ({ line, priority: index }));

export function wholeList(items: readonly ListItem[], frame: ListFrame): string | null {
  return items.length === 0 ? null : frame.wrap(items.map((item) => item.line));
}

/** The list cut as far as it goes: its frame around the "… and N more" line only; null with no items. */
export function leastList(items: readonly ListItem[], frame: ListFrame): string | null {
  return items.length === 0 ? null : frame.wrap([frame.more(items.length)]);
}

/** The paragraph in place of a list with no room for its least block (ListFrame.gone); null when none. */
export function goneNote(items: readonly ListItem[], frame: ListFrame): string | null {
  return items.length === 0 || !frame.gone ? null : frame.gone(items.length);
}

/**
 * The block within `budget` characters (blockCost); else its `gone` note when that fits; null when there
 * is nothing to show or no room.
 */
export function planList(items: readonly ListItem[], frame: ListFrame, budget: number): ListPlan {
  const whole = wholeList(items, frame);
  if (whole === null) return { block: null, cost: 0 };
  if (blockCost(whole) <= budget) return { block: whole, cost: blockCost(whole) };
  const room = budget - blockCost(leastList(items, frame));
  if (room < 0) {
    const note = goneNote(items, frame);
    return note !== null && blockCost(note) <= budget
      ? { block: note, cost: blockCost(note) }
      : { block: null, cost: 0 };
  }
  const lines = fitRanked(items, room);
  const block = frame.wrap([...lines, frame.more(items.length - lines.length)]);
  return { block, cost: blockCost(block) };
}

/**
 * The lines of the items ranked first (lower priority, then earlier) that fit in `room` characters, each
 * with its "\n", shown in their own order: how a cut list or table keeps what matters most.
 */
function fitRanked(items: readonly ListItem[], room: number): string[] {
  const kept: number[] = [];
  let left = room;
  for (const index of rankOrder(items, (item) => item.priority)) {
    const item = items[index]!;
    if (item.line.length + 1 > left) break;
    left -= item.line.length + 1;
    kept.push(index);
  }
  return kept.sort((a, b) => a - b).map((index) => items[index]!.line);
}

/** The indexes of `items`, those to keep first first: lower priority, then earlier (the rank of every cut list). */
export function rankOrder<T>(items: readonly T[], priority: (item: T) => number): number[] {
  return items
    .map((item, index) => ({ rank: priority(item), index }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ index }) => index);
}

/**
 * Each entry's parent, the nearest earlier entry one level up (-1 at the top), from the entries' depths in
 * tree order (treeOrder): what a cut table or chart needs to keep a child under its own parent.
 */
export function parentIndexes(depths: readonly number[]): number[] {
  const path: number[] = []; // the entry last seen at each depth
  return depths.map((given, index) => {
    const depth = Math.min(given, path.length);
    path.length = depth;
    path.push(index);
    return depth === 0 ? -1 : path[depth - 1]!;
  });
}

/** `index` and its ancestors (`parents`: parentIndexes) up to the first one already `kept`, nearest first. */
export function unkeptAncestry(
  index: number,
  parents: readonly number[],
  kept: ReadonlySet<number>,
): number[] {
  const chain: number[] = [];
  for (let at = index; at !== -1 && !kept.has(at); at = parents[at]!) chain.push(at);
  return chain;
}
