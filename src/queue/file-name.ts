/**
 * `comment_YYYYMMDD_HHMMSS_ffffff.json` (UTC; ffffff = microseconds), as the original design names queue
 * files, so that sorting names sorts posts oldest first.
 */
export function queueFileName(epochMs: number, microsWithinMs = 0): string {
  const iso = new Date(epochMs).toISOString(); // 2025-10-19T16:30:45.123Z
  const date = iso.slice(0, 10).replaceAll("-", "");
  const time = iso.slice(11, 19).replaceAll(":", "");
  const micros = (epochMs % 1000) * 1000 + Math.min(999, Math.max(0, Math.floor(microsWithinMs)));
  return `comment_${date}_${time}_${String(micros).padStart(6, "0")}.json`;
}

export const QUEUE_FILE_PATTERN = /^comment_\d{8}_\d{6}_\d{6}\.json$/;
