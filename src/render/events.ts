import type { AgentState } from "../model/types.js";
import { escapeInline } from "./escape.js";
import type { ListFrame, ListItem } from "./lists.js";
import { formatCount } from "./text.js";
import { formatEventTime } from "./time.js";

/**
 * The collapsed "Recent events" block of the comment: the last few events of each agent, in table order,
 * oldest first. Agent text is escaped like everywhere else; the `<details>` and `<summary>` tags are ours.
 * When cut, every agent's newest event is kept before anyone's second newest. Pure.
 *
 *   <details><summary>Recent events</summary>
 *
 *   - **backend** (impl-bac-163000), 16:31:05: compiled module A
 *   - … 4 more events not shown               (only when cut)
 *
 *   </details>
 *
 * With no room for that block even cut to its "more" line, one paragraph in its place says how many
 * events are not shown: `… 12 recent events not shown`.
 */

const EVENTS_SHOWN = 3;
const EVENT_MESSAGE_LENGTH = 200;

export const EVENTS_FRAME: ListFrame = {
  wrap: (lines) => `<details><summary>Recent events</summary>\n\n${lines.join("\n")}\n\n</details>`,
  more: (count) => `- … ${formatCount(count)} more ${count === 1 ? "event" : "events"} not shown`,
  gone: (count) => `… ${formatCount(count)} recent ${count === 1 ? "event" : "events"} not shown`,
};

/** `agents` in display order; priority 0 is each agent's newest event. */
export function eventItems(agents: readonly AgentState[], runStartedAt: string): ListItem[] {
  return agents.flatMap((agent) => {
    // `?? []`: a run state written before event logs existed has none. A parent's log holds its
    // children's events too (marked with the child's id), shown with that id as `status` shows them.
    const shown = (agent.events ?? []).slice(-EVENTS_SHOWN);
    const who = `**${escapeInline(agent.domain)}** (${escapeInline(agent.agentId)})`;
    return shown.map((event, index) => ({
      line: `- ${who}, ${formatEventTime(event.at, runStartedAt)}: ${event.agentId === undefined ? "" : `[${escapeInline(event.agentId)}] `}${escapeInline(event.message.trim(), EVENT_MESSAGE_LENGTH)}`,
      priority: shown.length - 1 - index,
    }));
  });
}
