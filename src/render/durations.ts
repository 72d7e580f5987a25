import { agentWork, type RunSpan } from "../model/agent-work.js";
import { formatDuration } from "../model/progress.js";
import type { TreeEntry } from "../model/tree.js";
import type { AgentState } from "../model/types.js";
import { escapeInline } from "./escape.js";
import { childMark, STATUS_LABELS } from "./labels.js";
import { inOrder, type ListFrame, type ListItem } from "./lists.js";
import { formatCount } from "./text.js";

/**
 * The final summary's "Agent Durations" list: how long each agent worked, in table order, a child marked
 * as in the table (childMark), so that it reads as its parent's. Pure.
 *
 *   - backend (impl-bac-163000): ✅ Completed in 7 minutes
 *   - ↳ api (impl-api-163100): ✅ Completed in 4 minutes — Added 3 endpoints   (its complete --summary)
 *   - qa (impl-qa-163000): ❌ Failed after 2 minutes
 *   - docs (impl-doc-163000): ⏹️ Cancelled, did not start
 *   - ops (impl-ops-163000): 🔄 In Progress, unfinished after 40 minutes
 */

export const DURATIONS_FRAME: ListFrame = {
  wrap: (lines) => ["### Agent Durations", "", ...lines].join("\n"),
  more: (count) => `- … and ${formatCount(count)} more`,
};

/** The agent's status and how long it worked (agentWork: `history` gives the same durations). */
function durationText(agent: AgentState, run: RunSpan): string {
  const label = STATUS_LABELS[agent.status];
  const work = agentWork(agent, run);
  if (work === null) return `${label}, did not start`;
  if (work.unfinished) return `${label}, unfinished after ${formatDuration(work.ms)}`;
  return `${label} ${agent.status === "completed" ? "in" : "after"} ${formatDuration(work.ms)}`;
}

/** A completed agent's result summary (`complete --summary`), after a dash: agent text, escaped. */
function resultText(agent: AgentState): string {
  const summary = agent.status === "completed" ? agent.summary?.trim() : "";
  return summary ? ` — ${escapeInline(summary)}` : "";
}

/** The agents in display order (treeOrder). */
export function durationItems(entries: readonly TreeEntry<AgentState>[], run: RunSpan): ListItem[] {
  return inOrder(
    entries.map(
      ({ agent, depth }) =>
        `- ${childMark(depth)}${escapeInline(agent.domain)} (${escapeInline(agent.agentId)}): ${durationText(agent, run)}${resultText(agent)}`,
    ),
  );
}
