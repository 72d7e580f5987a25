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

const ETA_MIN_FILES = 3;
export const ETA_MIN_ELAPSED_MS = 10_000;

/**
 * Milliseconds until the run is expected to be done, or null without enough data: the run's own
 * throughput, else (too little data yet) the same domains' durations in earlier runs.
 */
export function estimateRemainingMs(state: RunState, now: number): number | null {
  if (state.completedAt !== null) return null;
  return fromThroughput(state, now) ?? fromPastRuns(state, now);
}

/**
 * From earlier runs: each unfinished agent needs its domain's typical duration from when it started (from
 * now, when not started yet); the agents work in parallel, so the run needs the longest of these. Null when
 * an unfinished domain has no history, or every agent already took longer than it used to (no honest guess).
 */
function fromPastRuns(state: RunState, now: number): number | null {
  const past = state.pastDurations;
  if (!past) return null;
  let longest = 0;
  let unfinished = 0;
  for (const agent of Object.values(state.agents)) {
    if (FINISHED_STATUSES.includes(agent.status)) continue;
    unfinished++;
    const typical = past[agent.domain];
    if (typical === undefined || !Number.isFinite(typical)) return null;
    const started = agent.startedAt ? Date.parse(agent.startedAt) : now;
    longest = Math.max(longest, typical - Math.max(0, now - started));
  }
  return unfinished > 0 && longest > 0 ? Math.round(longest) : null;
}

function fromThroughput(state: RunState, now: number): number | null {
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

/**
 * `~4 minutes`: an estimate, so rounded to the nearest of what it shows (seconds under a minute, else
 * minutes), where a duration that has passed is rounded down (formatDuration); never `~0 seconds`.
 */
export function formatEta(ms: number): string {
  const unit = ms < 59_500 ? 1000 : 60_000;
  return `~${formatDuration(Math.max(1000, Math.round(ms / unit) * unit))}`;
}
