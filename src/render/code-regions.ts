/**
 * Where GitHub shows the merge summary's text as code: inside code spans and fenced or indented code
 * blocks, where it renders no HTML, decodes no entity and links no mention, so the escaper leaves the text
 * as written. Pure.
 *
 * Conservative by design. Text counted as code here keeps its `<` and `@`; text that GitHub shows as code
 * but is not counted here is escaped (shown as `&lt;`, as before). So a region is reported only where
 * CommonMark's rules settle it from the region's own line and what came before, without a full parser,
 * and the scan stops trusting what follows once something could change the answer.
 */

/** `[start, end)`: character offsets into the text. */
export type Range = readonly [start: number, end: number];

export interface Fence {
  char: string;
  length: number;
}

const FENCE_OPEN = /^ {0,3}(`{3,}(?=[^`]*$)|~{3,})/;
/** A fence after indentation or container markers (block quote, list item): it may sit in a container. */
export const MAYBE_NESTED_FENCE = /^[ \t>*+\-0-9.)]*(?:`{3,}|~{3,})/;
/** A line that opens or continues a list item or block quote, whose content may then be indented. */
const CONTAINER_START = /^ {0,3}(?:>|[-+*](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$))/;
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/;

export function fenceOpening(line: string): Fence | null {
  const match = FENCE_OPEN.exec(line);
  return match?.[1] ? { char: match[1].charAt(0), length: match[1].length } : null;
}

export function closesFence(line: string, fence: Fence): boolean {
  const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  return !!match?.[1] && match[1].charAt(0) === fence.char && match[1].length >= fence.length;
}

/**
 * The code regions of `text`, in order:
 * - the content lines of a fence opened at column 0 (exact: nothing at column 0 belongs to a list item or
 *   block quote, and a fence cannot be a paragraph's lazy continuation), up to its closing fence or the
 *   end (the caller closes a fence left open);
 * - lines indented by four spaces after a blank line, outside any list item or block quote;
 * - code spans within one line (see `lineSpans`).
 * After a fence-like line that may sit in a container, fences and indented blocks are no longer
 * trusted: where such a fence ends cannot be told without the containers.
 */
export function codeRanges(text: string): Range[] {
  const ranges: Range[] = [];
  let fence: Fence | null = null;
  let blocksTrusted = true;
  let inContainer = false;
  let afterBlank = true;
  let inIndented = false;
  // Spans are trusted within a paragraph until a line leaves a backtick run open or holds a risk.
  let spansTrusted = true;
  let offset = 0;
  for (const line of text.split("\n")) {
    const start = offset;
    offset += line.length + 1;
    if (fence) {
      if (closesFence(line, fence)) fence = null;
      else ranges.push([start, start + line.length]);
      continue;
    }
    if (/^[ \t]*$/.test(line)) {
      afterBlank = true;
      spansTrusted = true;
      continue;
    }
    const indented = line.startsWith("    ");
    if (indented && (inIndented || (blocksTrusted && afterBlank && !inContainer))) {
      inIndented = true;
      afterBlank = false;
      ranges.push([start, start + line.length]);
      continue;
    }
    inIndented = false;
    const opened = blocksTrusted && /^[`~]/.test(line) ? fenceOpening(line) : null;
    if (opened) {
      fence = opened;
      inContainer = false;
      afterBlank = false;
      spansTrusted = true;
      continue;
    }
    if (MAYBE_NESTED_FENCE.test(line) && !/^[`~]/.test(line)) blocksTrusted = false;
    if (CONTAINER_START.test(line)) inContainer = true;
    else if (afterBlank && /^[^ \t]/.test(line)) inContainer = false;
    afterBlank = false;
    if (!spansTrusted) continue;
    const found = lineSpans(line);
    for (const [from, to] of found.spans) ranges.push([start + from, start + to]);
    if (!found.trusted) spansTrusted = false;
  }
  return ranges;
}

/**
 * The code spans of one line of inline text (CommonMark: a run of N backticks is closed by the next run
 * of exactly N; a backslash escapes a backtick outside a span; inside, nothing is escaped). `trusted`:
 * false when what follows in the paragraph may pair differently, and the scan stops there:
 * - a run with no closing run on this line (it may close on a later line of the paragraph);
 * - `](`, `][`, `]:` or `$`: a link destination or title, a reference label or definition, or math
 *   reads the raw text, backticks included;
 * - a run inside a word holding `://` or `www.`: GFM's literal autolink takes the backticks;
 * - a span holding `|`: in a table row, the pipe splits the cell first.
 */
export function lineSpans(line: string): { spans: Range[]; trusted: boolean } {
  const spans: Range[] = [];
  const runs = [...line.matchAll(/`+/g)].map((run) => ({ start: run.index, end: run.index + run[0].length }));
  const inAutolink = autolinkWords(line);
  let next = 0; // the first run not yet passed
  let index = 0;
  while (index < line.length) {
    const char = line.charAt(index);
    if (char === "\\") {
      index += ASCII_PUNCTUATION.test(line.charAt(index + 1)) ? 2 : 1;
      continue;
    }
    if (char === "$" || (char === "]" && "([:".includes(line.charAt(index + 1)))) {
      return { spans, trusted: false };
    }
    if (char !== "`") {
      index += 1;
      continue;
    }
    while (runs[next]!.end <= index) next += 1;
    // An escaped first backtick leaves the rest of its run as a shorter run.
    const length = runs[next]!.end - index;
    let close = next + 1;
    while (close < runs.length && runs[close]!.end - runs[close]!.start !== length) close += 1;
    const end = runs[close]?.start;
    if (end === undefined || inAutolink[index] || line.slice(index + length, end).includes("|")) {
      return { spans, trusted: false };
    }
    spans.push([index + length, end]);
    index = end + length;
    next = close + 1;
  }
  return { spans, trusted: true };
}

/** For each position: whether a `://` or `www.` starts before it in its word (text between spaces). */
function autolinkWords(line: string): Uint8Array {
  const marks = new Uint8Array(line.length);
  let seen = false;
  for (let index = 0; index < line.length; index += 1) {
    if (/\s/.test(line.charAt(index))) seen = false;
    marks[index] = seen ? 1 : 0;
    if (line.startsWith("://", index) || /^www\./i.test(line.slice(index, index + 4))) seen = true;
  }
  return marks;
}
