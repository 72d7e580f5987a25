const MAX_SHOWN = 80;

/**
 * A value as it appears in an error message: one line, JSON (strings in double quotes),
 * shortened when long, so `got "abc"` and `got 0` read the same everywhere.
 */
export function quote(value: unknown): string {
  if (typeof value === "string") return escapeInvisible(JSON.stringify(shorten(value)));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid date" : value.toISOString();
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return escapeInvisible(shorten(shown));
}

/**
 * JSON escapes C0 controls only: DEL, C1 controls (U+0085 included), line and paragraph separators, the
 * BOM and bidi overrides would reach the terminal raw (a DEL erases, an override reorders the line).
 */
function escapeInvisible(json: string): string {
  return json.replace(
    /[\u007f-\u009f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** At most MAX_SHOWN characters (code points: a surrogate pair is never cut in two). */
function shorten(text: string): string {
  if (text.length <= MAX_SHOWN) return text;
  const points = Array.from(text);
  return points.length > MAX_SHOWN ? `${points.slice(0, MAX_SHOWN - 3).join("")}...` : text;
}
