import { formatDuration } from "../model/progress.js";
import type { AgentStatus } from "../model/types.js";

/** The status cells of the comment, as in the guide (plus `cancelled`). */
export const STATUS_LABELS: Readonly<Record<AgentStatus, string>> = {
  pending: "⏳ Pending",
  in_progress: "🔄 In Progress",
  completed: "✅ Completed",
  failed: "❌ Failed",
  cancelled: "⏹️ Cancelled",
};

/** The status cell of a stalled agent: `⚠️ Stalled (20 minutes)`, the time since its last report. */
export function stalledLabel(silentForMs: number): string {
  return `⚠️ Stalled (${formatDuration(silentForMs)})`;
}

/**
 * What stands before a child's domain on the issue (the table's domain cell, the agent durations): `↳ `,
 * after one em space (kept by GFM, unlike spaces) per level below the first; nothing at the top level.
 */
export function childMark(depth: number): string {
  return depth === 0 ? "" : `${"\u2003".repeat(depth - 1)}↳ `;
}

/** The same in a terminal (`status`, `watch`, `history`): `└ `, after two spaces per level below the first. */
export function terminalChildMark(depth: number): string {
  return depth === 0 ? "" : `${"  ".repeat(depth - 1)}└ `;
}
