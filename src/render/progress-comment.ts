import { estimateRemainingMs, formatEta } from "../model/eta.js";
import { formatRunCost, type MetricsView, metricCells, metricsView, metricTitles } from "../model/metrics.js";
import {
  formatDuration,
  formatStatusCounts,
  overallProgress,
  statusCounts,
  toAgentView,
  withOpenDescendants,
} from "../model/progress.js";
import { type AgentFlags, agentFlags } from "../model/stalled.js";
import { type TreeEntry, treeOrder } from "../model/tree.js";
import type { AgentState, RunState } from "../model/types.js";
import { type CommentParts, fitComment, type TableRow } from "./budget.js";
import { DURATIONS_FRAME, durationItems } from "./durations.js";
import { escapeCell, escapeInline } from "./escape.js";
import { EVENTS_FRAME, eventItems } from "./events.js";
import { childMark, STATUS_LABELS, stalledLabel } from "./labels.js";
import { finalMarker, progressMarker } from "./marker.js";
import { formatDateTime } from "./time.js";
import { timelinePart } from "./timeline.js";

export { STATUS_LABELS } from "./labels.js";

/**
 * The issue comments: the guide's format byte for byte, then what this product adds. Pure.
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
 *   | Domain | Agent | Status | Files | Progress |     (+ ` Iteration |`, ` Criteria |`, ` Cost |` once
 *   |--------|-------|--------|-------|----------|      some agent reported one: see metrics.ts)
 *   | <rows sorted by domain> |               (with `now`: a stalled agent's status is ⚠️ Stalled (…));
 *                                            children follow their parent, the domain cell `↳ child`
 *                                            (indented by em spaces below the first level: see tree.ts)
 *                                            (blank; only when the table was shortened to fit:)
 *   ✅ N completed domains not listed         (each note its own paragraph)
 *   … and N more domains
 *                                            (blank)
 *   **Overall:** P% (done/total files)
 *   **Agents:** X pending, Y running, Z completed, W failed[, V cancelled][, S stalled]
 *   **Cost:** $8.50[ of $10.00 budget[ ⚠️ 85% used]]  (only once some agent reported a cost)
 *   **ETA:** ~4 minutes                       (only with `now`, and enough data: see eta.ts)
 *                                            (blank; only when an agent failed, or was cancelled with a reason:)
 *   **Failures:**
 *   - <domain> (<agent id>): <reason>
 *                                            (blank; only when some agent logged events: see events.ts)
 *   <details><summary>Recent events</summary> … </details>
 *                                            (or, with no room for it: … N recent events not shown)
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
 *   ### Agent Durations                       (see durations.ts)
 *
 *   - <domain> (<agent id>): ✅ Completed in 7 minutes
 *                                            (blank)
 *   ### Timeline                              (a Mermaid gantt chart: see timeline.ts)
 *                                            (blank)
 *   <!-- parallel-progress:… -->              (the marker: always the last line)
 *
 * So each of the guide's examples is the start of the body, up to its Overall line, which the Agents line
 * follows.
 */

const DEFAULT_MAX_LENGTH = 65_000;

export interface RenderOptions {
  /** Upper bound of the body's `string.length` (GitHub rejects more than 65,536 characters). */
  maxLength?: number;
  /** The current time (epoch ms). Absent: no ETA and no stalled marks, so the body depends on the state only. */
  now?: number;
}

/** The guide's table header, then the metric columns some agent has reported. */
function tableHeader(metrics: MetricsView): string {
  const titles = ["Domain", "Agent", "Status", "Files", "Progress", ...metricTitles(metrics)];
  return `| ${titles.join(" | ")} |\n|${titles.map((title) => "-".repeat(title.length + 2)).join("|")}|`;
}

/** A child's domain cell: `↳ api` (childMark). */
function domainCell(domain: string, depth: number): string {
  return `${childMark(depth)}${escapeCell(domain)}`;
}

function tableRow(
  agent: AgentState,
  depth: number,
  flags: AgentFlags | null,
  metrics: MetricsView,
  openBelow: boolean,
): TableRow {
  const view = toAgentView(agent, openBelow);
  const cells = [
    domainCell(view.domain, depth),
    escapeCell(view.agentId),
    flags?.stalled ? stalledLabel(flags.silentForMs) : STATUS_LABELS[view.status],
    `${view.filesCompleted}/${view.filesTotal}`,
    `${view.progress}%`,
    ...metricCells(view, metrics),
  ];
  return { status: view.status, line: `| ${cells.join(" | ")} |`, depth };
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

/** Overall, Agents, Cost (once reported) and (with `now`, when there is one) ETA: one paragraph. */
function overallBlock(
  state: RunState,
  agents: readonly AgentState[],
  stalled: number,
  metrics: MetricsView,
  now?: number,
): string {
  const overall = overallProgress(agents);
  const lines = [
    `**Overall:** ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files)`,
    `**Agents:** ${formatStatusCounts(statusCounts(agents), stalled)}`,
  ];
  const cost = formatRunCost(metrics);
  if (cost !== null) lines.push(`**Cost:** ${cost}`);
  const eta = now === undefined ? null : estimateRemainingMs(state, now);
  if (eta !== null) lines.push(`**ETA:** ${formatEta(eta)}`);
  return lines.join("\n");
}

/** The progress comment's parts; `entries`: the run's agents in display order (treeOrder). */
function progressParts(
  state: RunState,
  entries: readonly TreeEntry<AgentState>[],
  now?: number,
): Omit<CommentParts, "final" | "marker"> {
  const agents = entries.map((entry) => entry.agent);
  const metrics = metricsView(state, agents);
  const flags = agents.map((agent) => (now === undefined ? null : agentFlags(agent, state, now)));
  const stalled = flags.filter((flag) => flag?.stalled).length;
  const open = withOpenDescendants(state.agents);
  const count = agents.length;
  return {
    head: [
      "## 🔄 Parallel Execution Progress",
      `**${escapeInline(state.event.trim() || "Progress updated")}**`,
      `**Mode:** Parallel (${count} ${count === 1 ? "domain" : "domains"})\n**Started:** ${formatDateTime(state.startedAt)}`,
    ],
    tableHeader: tableHeader(metrics),
    rows: entries.map((entry, index) =>
      tableRow(entry.agent, entry.depth, flags[index]!, metrics, open.has(entry.agent.agentId)),
    ),
    overall: overallBlock(state, agents, stalled, metrics, now),
    failures: failureItems(agents),
    events: { items: eventItems(agents, state.startedAt), frame: EVENTS_FRAME },
  };
}

/**
 * The progress comment. Its marker follows the run's comment mode: in append mode the body is one comment
 * of the run's history (a `history` marker), which no later write edits or deletes.
 */
export function renderProgressComment(state: RunState, options: RenderOptions = {}): string {
  const kind = state.github.commentMode === "append" ? "history" : "progress";
  const parts: CommentParts = {
    ...progressParts(state, treeOrder(Object.values(state.agents)), options.now),
    final: null,
    marker: progressMarker(state.runId, state.seq, kind),
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
  const entries = treeOrder(Object.values(state.agents));
  const progress = progressParts(state, entries, options.now);
  const agents = entries.map((entry) => entry.agent);
  const overall = overallProgress(agents);
  const started = Date.parse(state.startedAt);
  const ended = endedAt(state);
  const given = state.mergeSummary?.trim() ? state.mergeSummary : null;
  const parts: CommentParts = {
    ...progress,
    final: {
      blocks: [
        "## 🎉 Final Summary",
        `**Total Duration:** ${formatDuration(ended - started)}\n**Total Files:** ${overall.filesCompleted}/${overall.filesTotal}`,
        "### Merge Results",
      ],
      summary: given ?? "No merge summary was given.",
      summaryCut: given === null ? 0 : cutCount(state.mergeSummaryCut),
      durations: {
        items: durationItems(entries, { startedAt: started, endedAt: ended }),
        frame: DURATIONS_FRAME,
      },
      timeline: timelinePart(entries, { startedAt: started, endedAt: ended }),
    },
    marker: finalMarker(state.runId),
  };
  return fitComment(parts, options.maxLength ?? DEFAULT_MAX_LENGTH);
}

/** How many characters of the merge summary the run did not keep: a count (a database's run is not checked). */
const cutCount = (cut: unknown): number =>
  Number.isSafeInteger(cut) && (cut as number) > 0 ? (cut as number) : 0;
