/** The times a queue file name can show: years 0000 to 9999, which toISOString writes in four digits. */
const FIRST_MS = Date.parse("0000-01-01T00:00:00.000Z");
const LAST_MS = Date.parse("9999-12-31T23:59:59.999Z");

/**
 * `comment_YYYYMMDD_HHMMSS_ffffff.json` (UTC; ffffff = microseconds), as the original design names queue
 * files, so that sorting names sorts posts oldest first. Always that shape: a time with a fraction of a
 * millisecond is taken down to its millisecond, and one outside those years to the nearest it can show.
 */
export function queueFileName(epochMs: number, microsWithinMs = 0): string {
  const ms = Math.min(LAST_MS, Math.max(FIRST_MS, Math.floor(epochMs)));
  const iso = new Date(ms).toISOString(); // 2025-10-19T16:30:45.123Z
  const date = iso.slice(0, 10).replaceAll("-", "");
  const time = iso.slice(11, 19).replaceAll(":", "");
  const micros = Number(iso.slice(20, 23)) * 1000 + Math.min(999, Math.max(0, Math.floor(microsWithinMs)));
  return `comment_${date}_${time}_${String(micros).padStart(6, "0")}.json`;
}

export const QUEUE_FILE_PATTERN = /^comment_\d{8}_\d{6}_\d{6}\.json$/;
