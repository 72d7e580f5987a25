// Text for the page: durations, clock times, statuses. Pure functions. (Statuses are words with a
// coloured mark from the style sheet, not the comment's emoji, which not every machine has a font for.)

/** @typedef {"pending" | "in_progress" | "completed" | "failed" | "cancelled"} Status */

/** @type {Record<Status, string>} */
export const STATUS_LABELS = {
  pending: "Pending",
  in_progress: "In Progress",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
};

/** @param {string} status */
export function statusLabel(status) {
  return STATUS_LABELS[/** @type {Status} */ (status)] ?? status;
}

/** @param {number} count @param {string} unit */
const plural = (count, unit) => `${count} ${unit}${count === 1 ? "" : "s"}`;

/** "45 seconds", "12 minutes", "1 hour 5 minutes", as the comment writes them. @param {number} ms */
export function formatDuration(ms) {
  const seconds = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  if (seconds < 60) return plural(seconds, "second");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return plural(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? plural(hours, "hour") : `${plural(hours, "hour")} ${plural(rest, "minute")}`;
}

/** `16:31:05` (UTC) of an ISO time or epoch ms; "" when it does not parse. @param {string | number | null} at */
export function clockTime(at) {
  if (at === null) return "";
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(11, 19);
}

/** `2025-10-19 16:30:00 UTC`. @param {string} at */
export function dateTime(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? at : `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * `$1,234.57`, as the comment writes amounts (formatUsd in src/model/metrics.ts, which a test holds this
 * to): rounded half up from the amount to a millionth, not by toFixed(2), which rounds the binary number
 * (2.675 would show $2.67); anything not a finite amount above 0 is $0.00. @param {number} usd
 */
export function dollars(usd) {
  const amount = Number.isFinite(usd) && usd > 0 ? Math.min(usd, 1e18) : 0;
  const millionths = BigInt(amount.toFixed(6).replace(".", ""));
  const cents = ((millionths + 5000n) / 10000n).toString().padStart(3, "0");
  return `$${cents.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${cents.slice(-2)}`;
}
