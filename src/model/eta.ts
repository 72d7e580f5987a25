import { formatDuration } from "./progress.js";
import { leafAgents } from "./tree.js";
import { FINISHED_STATUSES, type RunState } from "./types.js";

/**
 * The run's estimated time to completion. Pure; the time is passed in as epoch ms.
 *
 * The run's throughput so far (files completed by all agents per millisecond since the run started)
 * applied to the files still to do by the unfinished agents. Only when there is enough data: at least
 * ETA_MIN_FILES files done, ETA_MIN_ELAPSED_MS elapsed, the run not finalized, some files remaining, and
 * every unfinished agent has announced its number of files (an agent at 0/0 could have any amount of
 * work left, so no estimate would be honest).
 */

export const ETA_MIN_FILES = 3;
export const ETA_MIN_ELAPSED_MS = 10_000;

/** Milliseconds until the run is expected to be done, or null without enough data. */
export function estimateRemainingMs(state: RunState, now: number): number | null {
  if (state.completedAt !== null) return null;
  const elapsed = now - Date.parse(state.startedAt);
  if (!(elapsed >= ETA_MIN_ELAPSED_MS)) return null;

  let done = 0;
  let remaining = 0;
  // Leaves only: a parent's files are its children's sums.
  for (const agent of leafAgents(Object.values(state.agents))) {
    done += Math.max(0, agent.filesCompleted);
    if (FINISHED_STATUSES.includes(agent.status)) continue;
    if (agent.filesTotal <= 0) return null;
    remaining += Math.max(0, agent.filesTotal - agent.filesCompleted);
  }
  if (done < ETA_MIN_FILES || remaining <= 0) return null;
  const estimate = (remaining * elapsed) / done;
  return Number.isFinite(estimate) ? Math.round(estimate) : null;
}

/** `~4 minutes`; never `~0 seconds`. */
export function formatEta(ms: number): string {
  return `~${formatDuration(Math.max(1000, ms))}`;
}
