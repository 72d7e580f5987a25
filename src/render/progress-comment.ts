import { formatDuration, overallProgress, sortByDomain, toAgentView } from "../model/progress.js";
import type { AgentState, AgentStatus, RunState } from "../model/types.js";
import { type CommentParts, fitComment, type TableRow } from "./budget.js";
import { escapeCell, escapeInline } from "./escape.js";
import { finalMarker, progressMarker } from "./marker.js";

/**
 * The issue comments, in the guide's format byte for byte. Pure.
 *
 * Layout: blocks separated by exactly one blank line, no trailing newline.
 *
 *   ## 🔄 Parallel Execution Progress
 *                                            (blank)
 *   **<event>**
 *                                            (blank)
 *   **Mode:** Parallel (N domains)
 *   **Started:** YYYY-MM-DD HH:MM:SS
 *                                            (blank)
 *   | Domain | Agent | Status | Files | Progress |
 *   |--------|-------|--------|-------|----------|
 *   | <rows sorted by domain> |
 *                                            (blank; only when the table was shortened to fit:)
 *   ✅ N completed domains not listed         (each note its own paragraph)
 *   … and N more domains
 *                                            (blank)
 *   **Overall:** P% (done/total files)
 *                                            (blank; only when an agent failed, or was cancelled with a reason:)
 *   **Failures:**
 *   - <domain> (<agent id>): <reason>
 *                                            (blank; final comment only:)
 *   ## 🎉 Final Summary
 *                                            (blank)
 *   **Total Duration:** <duration>
 *   **Total Files:** done/total
 *                                            (blank)
 *   ### Merge Results
 *                                            (blank)
 *   <merge summary, trimmed>
 *                                            (blank)
 *   <!-- parallel-progress:… -->              (the marker: always the last line)
 *
 * So the guide's examples are these bodies minus the final "\n\n<marker>".
 */

export const DEFAULT_MAX_LENGTH = 65_000;

export interface RenderOptions {
  /** Upper bound of the body's `string.length` (GitHub rejects more than 65,536 characters). */
  maxLength?: number;
}

export const STATUS_LABELS: Readonly<Record<AgentStatus, string>> = {
  pending: "⏳ Pending",
  in_progress: "🔄 In Progress",
  completed: "✅ Completed",
  failed: "❌ Failed",
  cancelled: "⏹️ Cancelled",
};

const TABLE_HEADER =
  "| Domain | Agent | Status | Files | Progress |\n|--------|-------|--------|-------|----------|";

/** `YYYY-MM-DD HH:MM:SS` in UTC; a time that does not parse is shown as given. */
function formatStarted(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? escapeInline(iso, 40) : new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

function tableRow(agent: AgentState): TableRow {
  const view = toAgentView(agent);
  const cells = [
    escapeCell(view.domain),
    escapeCell(view.agentId),
    STATUS_LABELS[view.status],
    `${view.filesCompleted}/${view.filesTotal}`,
    `${view.progress}%`,
  ];
  return { status: view.status, line: `| ${cells.join(" | ")} |` };
}

/** Failed agents (reason or not), then cancelled ones that were given a reason, each in domain order. */
function failureItems(agents: readonly AgentState[]): string[] {
  const item = (agent: AgentState, reason: string) =>
    `- ${escapeInline(agent.domain)} (${escapeInline(agent.agentId)}): ${reason}`;
  const failed = agents
    .filter((agent) => agent.status === "failed")
    .map((agent) => item(agent, agent.error?.trim() ? escapeInline(agent.error.trim()) : "no reason given"));
  const cancelled = agents
    .filter((agent) => agent.status === "cancelled" && agent.error?.trim())
    .map((agent) => item(agent, `cancelled: ${escapeInline(agent.error!.trim())}`));
  return [...failed, ...cancelled];
}

function progressParts(state: RunState): Omit<CommentParts, "final" | "marker"> {
  const agents = sortByDomain(Object.values(state.agents));
  const overall = overallProgress(agents);
  const count = agents.length;
  return {
    head: [
      "## 🔄 Parallel Execution Progress",
      `**${escapeInline(state.event.trim() || "Progress updated")}**`,
      `**Mode:** Parallel (${count} ${count === 1 ? "domain" : "domains"})\n**Started:** ${formatStarted(state.startedAt)}`,
    ],
    tableHeader: TABLE_HEADER,
    rows: agents.map(tableRow),
    overall: `**Overall:** ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files)`,
    failures: failureItems(agents),
  };
}

export function renderProgressComment(state: RunState, options: RenderOptions = {}): string {
  const parts: CommentParts = {
    ...progressParts(state),
    final: null,
    marker: progressMarker(state.runId, state.seq),
  };
  return fitComment(parts, options.maxLength ?? DEFAULT_MAX_LENGTH);
}

/** When the run ended: `completedAt`, or (not finalized yet) the latest agent update, or the start. */
function endedAt(state: RunState): number {
  const started = Date.parse(state.startedAt);
  if (state.completedAt !== null) return Date.parse(state.completedAt);
  return Object.values(state.agents).reduce((latest, agent) => {
    const ms = Date.parse(agent.updatedAt);
    return Number.isNaN(ms) ? latest : Math.max(latest, ms);
  }, started);
}

/**
 * The final summary comment: the progress comment of the finished run, then the final summary; it
 * carries the final marker instead of the progress one.
 */
export function renderFinalComment(state: RunState, options: RenderOptions = {}): string {
  const progress = progressParts(state);
  const overall = overallProgress(Object.values(state.agents));
  const summary = state.mergeSummary?.trim() ? state.mergeSummary : "No merge summary was given.";
  const parts: CommentParts = {
    ...progress,
    final: {
      blocks: [
        "## 🎉 Final Summary",
        `**Total Duration:** ${formatDuration(endedAt(state) - Date.parse(state.startedAt))}\n**Total Files:** ${overall.filesCompleted}/${overall.filesTotal}`,
        "### Merge Results",
      ],
      summary,
    },
    marker: finalMarker(state.runId),
  };
  return fitComment(parts, options.maxLength ?? DEFAULT_MAX_LENGTH);
}
