// Text for the page: clock times, statuses. Pure functions. (Statuses are words with a
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
