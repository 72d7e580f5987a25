/**
 * Character-level clean-up shared by the escapers and the terminal table. Pure.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const LINE_BREAK = /\r\n?|[\u2028\u2029]/g;
/** C0 and C1 controls (tab and line feed are handled by the callers), BOM, and the bidi overrides that reorder text. */
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\uFEFF\u202A-\u202E\u2066-\u2069]/g;

/**
 * Well-formed text with `\n` as the only line break and no control characters other than `\t` and `\n`.
 * Lone surrogates become U+FFFD (GitHub would do the same, after counting them).
 */
export function cleanText(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD").replace(LINE_BREAK, "\n").replace(INVISIBLE, "");
}

/** At most `max` code points, the last one replaced by `…` when something was cut. */
export function truncateCodePoints(text: string, max: number): string {
  const limit = Math.max(0, Math.floor(max));
  if (text.length <= limit) return text;
  // Only the head is split into code points (limit + 1 of them at least, or the whole text): a text of
  // megabytes costs what is kept.
  const points = Array.from(sliceWhole(text, 2 * limit + 2));
  if (points.length <= limit) return text;
  return limit === 0 ? "" : `${points.slice(0, limit - 1).join("")}…`;
}

/** `text.slice(0, end)` that does not split a surrogate pair. */
export function sliceWhole(text: string, end: number): string {
  let cut = Math.max(0, Math.min(text.length, Math.floor(end)));
  const last = text.charCodeAt(cut - 1);
  if (cut > 0 && cut < text.length && last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return text.slice(0, cut);
}

/** 1,234,567: fixed grouping, independent of the locale. */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
