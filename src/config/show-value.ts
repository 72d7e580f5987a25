const MAX_SHOWN = 80;

/**
 * A value as it appears in an error message: one line, JSON (strings in double quotes),
 * shortened when long, so `got "abc"` and `got 0` read the same everywhere.
 */
export function quote(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(shorten(value));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an invalid date" : value.toISOString();
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  return shorten(shown);
}

function shorten(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 3)}...` : text;
}
