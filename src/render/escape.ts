import { cleanText, sliceWhole, truncateCodePoints } from "./text.js";

/**
 * Agent text (domains, summaries, error messages, the merge summary) made safe for the issue: it cannot
 * break the table, ping anyone, inject HTML, or forge the hidden marker (every marker starts with `<!--`,
 * and no `<` from agent text survives). Pure.
 */

export const DEFAULT_CELL_LENGTH = 500;

/**
 * GitHub ignores `\@`, so mentions are broken with a zero-width joiner after the `@`. Any `@` that is not
 * followed by whitespace gets one: that covers `@user`, `@org/team` and whatever GitHub may link next.
 */
const MENTION = /@(?=[^\s])/g;
const ZWJ = "\u200D";

const INLINE_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "|": "\\|",
  "`": "\\`",
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
};

/**
 * One line of inline markdown, literal as given: backslashes, pipes and backticks escaped (so no code
 * span and no cell boundary), `& < >` as entities (so no HTML and no forged entity), line breaks as
 * `<br>`, tabs as spaces, mentions broken. Emphasis and links stay: they cannot leave the cell.
 * Cut to `maxLength` code points of the input, the last one an ellipsis.
 */
export function escapeCell(text: string, maxLength = DEFAULT_CELL_LENGTH): string {
  return truncateCodePoints(cleanText(text).replace(/\t/g, " "), maxLength)
    .replace(/[\\|`&<>]/g, (char) => INLINE_ESCAPES[char] ?? char)
    .replace(MENTION, `@${ZWJ}`)
    .replace(/\n/g, "<br>");
}

/** For the text of a list item line (the failures list): the same rules as a table cell. */
export function escapeInline(text: string, maxLength = DEFAULT_CELL_LENGTH): string {
  return escapeCell(text, maxLength);
}

/** An entity or numeric character reference: `&amp;#64;` would otherwise render as `@`. */
const ENTITY = /&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)/g;
const FENCE_OPEN = /^ {0,3}(`{3,}(?=[^`]*$)|~{3,})/;
const ATX_HIGH = /^( {0,3}(?:(?:>[ \t]?|(?:[-*+]|\d{1,9}[.)])[ \t]+) {0,3})*)(#{1,3})(?=[ \t]|$)/;
const SETEXT_UNDERLINE = /^ {0,3}(?:=+|-+)[ \t]*$/;

interface Fence {
  char: string;
  length: number;
}

function fenceOpening(line: string): Fence | null {
  const match = FENCE_OPEN.exec(line);
  return match?.[1] ? { char: match[1].charAt(0), length: match[1].length } : null;
}

function closesFence(line: string, fence: Fence): boolean {
  const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  return !!match?.[1] && match[1].charAt(0) === fence.char && match[1].length >= fence.length;
}

/** The fence left open at the end of `text`, if any (top-level fences; see the note in escapeBlock). */
function openFence(text: string): Fence | null {
  let fence: Fence | null = null;
  for (const line of text.split("\n")) {
    if (fence) {
      if (closesFence(line, fence)) fence = null;
    } else {
      fence = fenceOpening(line);
    }
  }
  return fence;
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

function closeFence(text: string): string {
  const fence = openFence(text);
  return fence ? `${text}\n${fence.char.repeat(fence.length)}` : text;
}

/**
 * The merge summary: the user's markdown (lists, emphasis, tables, code, headings of level 4 and below)
 * kept, with `<` as `&lt;` (no HTML, so no `<!--` and no marker), entity references shown literally,
 * mentions broken, control characters removed, headings demoted and an unclosed code fence closed so
 * nothing after the summary is swallowed. Trimmed. At most `maxLength` characters (`string.length`), a
 * note saying so when cut.
 *
 * `<` is escaped in code too (it shows as `&lt;` there): a markdown-aware exception would need a full
 * parser to be safe. Fences are tracked at the top level only; one left open inside a list item that the
 * list closes is closed again at the end (harmless: an empty code block at worst).
 */
export function escapeBlock(text: string, maxLength: number): string {
  const escaped = demoteHeadings(
    cleanText(text)
      .replace(ENTITY, "&amp;")
      .replace(/</g, "&lt;")
      .replace(MENTION, `@${ZWJ}`)
      .replace(/^\s*\n|\s+$/g, ""),
  );
  const max = Math.max(0, Math.floor(maxLength));
  const whole = closeFence(escaped);
  if (whole.length <= max) return whole;
  const note = (omitted: number) => `\n\n*… truncated (${omitted} more characters)*`;
  let keep = max - note(escaped.length).length;
  while (keep > 0) {
    const head = cutAtLine(escaped, keep);
    const body = closeFence(head) + note(escaped.length - head.length);
    if (body.length <= max) return body;
    keep -= body.length - max;
  }
  return "";
}

/** The first `end` characters, ending at a line break when there is one in the last fifth. */
function cutAtLine(text: string, end: number): string {
  const head = sliceWhole(text, end);
  const lineEnd = head.lastIndexOf("\n");
  return (lineEnd > head.length * 0.8 ? head.slice(0, lineEnd) : head).replace(/\s+$/, "");
}
