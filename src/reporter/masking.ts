import { longSecrets, maskSecrets } from "../github/redact.js";
import type { RunState } from "../model/types.js";

/**
 * `state` with each of `tokens` (of MIN_ANYWHERE characters or more; as written and URL-encoded) replaced by
 * `***` in the text it shows (agents' domains, summaries, errors and events, the run's epic, last event,
 * merge summary and last GitHub error); its ids are left as they are (a run id is checked, and names the
 * run's comments).
 */
export function stateWithout(state: RunState, tokens: readonly string[]): RunState {
  const long = longSecrets(tokens);
  if (long.length === 0) return state;
  const hide = (text: string): string => maskSecrets(text, long);
  const hideOrNull = (text: string | null): string | null => (text === null ? null : hide(text));
  const agents = Object.fromEntries(
    Object.entries(state.agents).map(([id, agent]) => [
      id,
      {
        ...agent,
        domain: hide(agent.domain),
        summary: hideOrNull(agent.summary),
        error: hideOrNull(agent.error),
        events: agent.events.map((event) => ({ ...event, message: hide(event.message) })),
      },
    ]),
  );
  return {
    ...state,
    epicId: hide(state.epicId),
    event: hide(state.event),
    mergeSummary: hideOrNull(state.mergeSummary),
    agents,
    sync: { ...state.sync, lastError: hideOrNull(state.sync.lastError) },
  };
}
