import { escapeInline } from "./escape.js";

/** Times in the comment, always UTC. Pure. */

function utc(iso: string): string | null {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** `YYYY-MM-DD HH:MM:SS`; a time that does not parse is shown as given (escaped). */
export function formatDateTime(iso: string): string {
  return utc(iso) ?? escapeInline(iso, 40);
}

/** `HH:MM:SS`, with the date in front when it is not the day the run started; null when it does not parse. */
export function eventClock(iso: string, runStartedAt: string): string | null {
  const at = utc(iso);
  if (at === null) return null;
  return at.slice(0, 10) === utc(runStartedAt)?.slice(0, 10) ? at.slice(11) : at;
}

/** eventClock for the comment; a time that does not parse is shown as given (escaped). */
export function formatEventTime(iso: string, runStartedAt: string): string {
  return eventClock(iso, runStartedAt) ?? escapeInline(iso, 40);
}
