import { closesFence, codeRanges, type Fence, fenceOpening, MAYBE_NESTED_FENCE } from "./code-regions.js";
import { cleanText, sliceWhole, truncateCodePoints } from "./text.js";

/**
 * Agent text (domains, summaries, error messages, the merge summary) made safe for the issue: it cannot
 * break the table, ping anyone, inject HTML, or forge the hidden marker (every marker starts with `<!--`,
 * and no `<` from agent text survives but in the merge summary's code, where a marker's is escaped). Pure.
 */

const DEFAULT_CELL_LENGTH = 500;

/**
 * GitHub ignores `\@`, so mentions are broken with a zero-width joiner after the `@`. Any `@` that is not
 * followed by whitespace gets one: that covers `@user`, `@org/team` and whatever GitHub may link next.
 */
const MENTION = /@(?=[^\s])/g;
const ZWJ = "\u200D";

/**
 * What GitHub turns into links or pictures in plain text whatever the escaping (its filters work on the
 * rendered text, as mdast-util-gfm's autolinker does): `#123` and `GH-123` references, `http://` and
 * `www.` URLs, `:emoji:` codes. A zero-width joiner breaks each.
 */
const AUTOLINKED = /#(?=[^\s])|(?=:\/\/)|(?<=www)(?=\.)|(?<=\bGH)(?=-\d)|(?<=:)(?=[\w+-]+:)/gi;

const INLINE_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/**
 * The characters that open inline markdown anywhere in a line: backslash, code spans, emphasis and
 * strikethrough, links and images (`[`, `]`, `!`), table cells, math (`$`), references (`#`). Agent text
 * never starts a line (it follows our own prefix), so block markers such as `-`, `+`, `1.` need nothing.
 */
const INLINE_SPECIAL = /[\\`*_[\]!|~$#]/g;

/**
 * One line of inline markdown, shown literally as given: every character that could open markdown is
 * backslash-escaped (so no emphasis, link, image, code span, math or cell boundary), `& < >` become
 * entities (no HTML, no forged entity or marker), line breaks become `<br>`, tabs spaces, and mentions,
 * references, URLs and emoji codes are broken with a zero-width joiner. Cut to `maxLength` code points of the
 * input, the last one an ellipsis.
 */
export function escapeCell(text: string, maxLength = DEFAULT_CELL_LENGTH): string {
  return truncateCodePoints(cleanText(text).replace(/\t/g, " "), maxLength)
    .replace(MENTION, `@${ZWJ}`)
    .replace(AUTOLINKED, (match) => `${match}${ZWJ}`)
    .replace(INLINE_SPECIAL, (char) => `\\${char}`)
    .replace(/[&<>]/g, (char) => INLINE_ENTITIES[char] ?? char)
    .replace(/\n/g, "<br>");
}

/** For the text of a list item line (failures, events, durations): the same rules as a table cell. */
export function escapeInline(text: string, maxLength = DEFAULT_CELL_LENGTH): string {
  return escapeCell(text, maxLength);
}

/** An entity or numeric character reference: `&amp;#64;` would otherwise render as `@`. */
const ENTITY = /&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)/g;
const ATX_HIGH = /^( {0,3}(?:(?:>[ \t]?|(?:[-*+]|\d{1,9}[.)])[ \t]+) {0,3})*)(#{1,3})(?=[ \t]|$)/;
const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)[ \t]*$/;
/**
 * Our own marker's opening, which the tool looks for in comment bodies (see marker.ts): neutralised even
 * in code, where it shows as `&lt;!-- parallel-progress…`, the one place code is not shown as written.
 */
const MARKER_OPENING = /<(?=!--\s*parallel-progress)/gi;

/**
 * Where `text` leaves a code fence. A fence opened at column 0 is a top-level fence and is tracked
 * exactly (nothing at column 0 can belong to a list item or block quote, and no HTML block can start:
 * `<` is escaped outside code). A fence-like line elsewhere (indented, or after `>`, `-`, `1.`) may sit in a
 * container, where a closing fence at column 0 would open a new block instead: "nested", and the caller
 * contains the text differently. `open`: the top-level fence left open at the end.
 */
function fenceState(text: string): { open: Fence | null; nested: boolean } {
  let open: Fence | null = null;
  for (const line of text.split("\n")) {
    if (open) {
      if (closesFence(line, open)) open = null;
    } else if (/^[`~]/.test(line)) {
      open = fenceOpening(line);
    } else if (MAYBE_NESTED_FENCE.test(line)) {
      return { open: null, nested: true };
    }
  }
  return { open, nested: false };
}

/** Headings of level 1–3 become level 4, setext headings become a paragraph and a rule: they are ours. */
function demoteHeadings(text: string): string {
  const out: string[] = [];
  let fence: Fence | null = null;
  let previous = "";
  for (const line of text.split("\n")) {
    let next = line;
    if (fence) {
      if (closesFence(line, fence)) fence = null;
    } else {
      fence = fenceOpening(line);
      if (!fence) {
        next = line.replace(ATX_HIGH, "$1####");
        if (SETEXT_UNDERLINE.test(line) && previous.trim() !== "") out.push("");
      }
    }
    out.push(next);
    previous = fence ? "" : next;
  }
  return out.join("\n");
}

/**
 * The summary made so that what follows it renders as intended: a top-level fence left open is closed;
 * text whose fences may sit in a list item or block quote is put in a block quote (`> ` before each
 * line), which the blank line after it ends, and with it every block inside, whatever the input.
 */
function contain(text: string): string {
  const { open, nested } = fenceState(text);
  if (nested) return text.replace(/^/gm, "> ").replace(/^> $/gm, ">");
  return open ? `${text}\n${open.char.repeat(open.length)}` : text;
}

/**
 * The merge summary: the user's markdown (lists, emphasis, tables, code, headings of level 4 and below)
 * kept. Outside code, `<` becomes `&lt;` (no HTML, so no `<!--` and no marker), entity references are
 * shown literally and mentions broken; code (see code-regions.ts) is left as written, as GitHub shows it
 * (no HTML, entity or mention there), but for our marker's opening. Control characters removed, headings
 * demoted, and contained (see `contain`) so nothing after the summary is swallowed. Trimmed. At most
 * `maxLength` characters (`string.length`), a note saying how many were left out when cut. `cutBefore`:
 * characters the text's last `…` stands for (the run kept the summary cut, see keptMergeSummary): the
 * note replaces that `…` and counts them too.
 */
export function escapeBlock(text: string, maxLength: number, cutBefore = 0): string {
  const { source, leftOut } = blockSource(text, cutBefore);
  const max = Math.max(0, Math.floor(maxLength));
  const whole = wholeBlock(source, leftOut, max);
  if (whole !== null) return whole;
  // The source is cut, then escaped: a code span cut in two is then no code span, and escaped as text.
  const cut = (keep: number): string | null => {
    const head = cutAtLine(source, keep);
    const body = noted(contain(escapeMarkdown(head)), source.length - head.length + leftOut);
    return body.length <= max ? body : null;
  };
  // How much of the source to keep: the most whose escaped text and note fit, found by halving (escaping
  // may grow a character up to several: `<` is `&lt;`, so the overshoot says little of the source's cut).
  let best = cut(0);
  let [low, high] = [1, max];
  while (low <= high) {
    const keep = Math.floor((low + high) / 2);
    const body = cut(keep);
    if (body === null) high = keep - 1;
    else {
      best = body;
      low = keep + 1;
    }
  }
  return best ?? "";
}

/** escapeBlock's text uncut (but for what was cut before), or null when it is longer than `maxLength` characters. */
export function escapeWholeBlock(text: string, maxLength: number, cutBefore = 0): string | null {
  const { source, leftOut } = blockSource(text, cutBefore);
  return wholeBlock(source, leftOut, Math.max(0, Math.floor(maxLength)));
}

/**
 * The text to show, clean and trimmed, and how many characters are already left out of it (`cutBefore`
 * and the `…` that stands for them, taken off, with the white space before it).
 */
function blockSource(text: string, cutBefore: number): { source: string; leftOut: number } {
  const source = cleanText(text).replace(/^\s*\n|\s+$/g, "");
  if (cutBefore <= 0 || !source.endsWith("…")) return { source, leftOut: Math.max(0, cutBefore) };
  const head = source.slice(0, -1).trimEnd();
  return { source: head, leftOut: cutBefore + source.length - 1 - head.length };
}

/** `block`, then the note saying `omitted` characters were left out when some were. */
function noted(block: string, omitted: number): string {
  if (omitted === 0) return block;
  return `${block}\n\n*… truncated (${omitted} more characters)*`.replace(/^\n+/, "");
}

/**
 * The source escaped and contained whole (with the note of what was left out before), or null when that is
 * longer than `max`. Escaping only adds (entities, joiners, the `#` of demoted headings, `> ` and a closing
 * fence), so a source already longer is not escaped at all: a merge summary of megabytes costs what fits
 * of it, not seconds.
 */
function wholeBlock(source: string, leftOut: number, max: number): string | null {
  if (source.length > max) return null;
  const whole = noted(contain(escapeMarkdown(source)), leftOut);
  return whole.length <= max ? whole : null;
}

function escapeMarkdown(source: string): string {
  let out = "";
  let at = 0;
  for (const [start, end] of codeRanges(source)) {
    out += escapeProse(source.slice(at, start)) + source.slice(start, end).replace(MARKER_OPENING, "&lt;");
    at = end;
  }
  return demoteHeadings(out + escapeProse(source.slice(at)));
}

function escapeProse(text: string): string {
  return text.replace(ENTITY, "&amp;").replace(/</g, "&lt;").replace(MENTION, `@${ZWJ}`);
}

/** The first `end` characters, ending at a line break when there is one in the last fifth. */
function cutAtLine(text: string, end: number): string {
  const head = sliceWhole(text, end);
  const lineEnd = head.lastIndexOf("\n");
  return (lineEnd > head.length * 0.8 ? head.slice(0, lineEnd) : head).replace(/\s+$/, "");
}
