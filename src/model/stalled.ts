import type { AgentState, AgentStatus, RunState } from "./types.js";

/**
 * Stall detection: an agent that should still report but has been silent too long. Pure; the time is
 * passed in as epoch ms.
 *
 * Both `pending` and `in_progress` agents can stall: a dead agent must never look alive forever, whether
 * it died before or after its first report. Silence is measured from the agent's last report
 * (`updatedAt`), never from before the run's start, so a pending agent that never reported counts from
 * the start of the run. A stalled agent keeps its status (it is still counted as pending or running);
 * the displays add the stalled mark on top.
 */

/** Statuses in which an agent is expected to report again. */
const OPEN_STATUSES: readonly AgentStatus[] = ["pending", "in_progress"];

/**
 * Milliseconds since the agent's last sign of life: `now` minus the later of its `updatedAt` and the
 * run's start (when given), in whole milliseconds. 0 when neither time parses or `now` is earlier.
 */
export function silentForMs(agent: AgentState, now: number, runStartedAt?: string): number {
  const updated = Date.parse(agent.updatedAt);
  const started = runStartedAt === undefined ? Number.NaN : Date.parse(runStartedAt);
  const last = Math.max(
    Number.isNaN(updated) ? -Infinity : updated,
    Number.isNaN(started) ? -Infinity : started,
  );
  if (!Number.isFinite(last) || !Number.isFinite(now)) return 0;
  // Whole milliseconds, whatever the clock (a database's has microseconds).
  return Math.max(0, Math.floor(now - last));
}

/**
 * True when the agent is pending or in progress and has been silent for longer than `stallAfterMs`.
 * A threshold that is not a positive number disables detection.
 */
export function isStalled(
  agent: AgentState,
  stallAfterMs: number,
  now: number,
  runStartedAt?: string,
): boolean {
  if (!OPEN_STATUSES.includes(agent.status) || !(stallAfterMs > 0)) return false;
  return silentForMs(agent, now, runStartedAt) > stallAfterMs;
}

/**
 * The time a run is looked at: `now`, except that a finalized run is seen as it was when it ended
 * (its view no longer ages).
 */
export function viewTime(state: RunState, now: number): number {
  const completed = state.completedAt === null ? Number.NaN : Date.parse(state.completedAt);
  return Number.isNaN(completed) ? now : Math.min(now, completed);
}

export interface AgentFlags {
  stalled: boolean;
  /** Milliseconds since the agent's last report (see silentForMs). */
  silentForMs: number;
}

/** What `status --json` and the displays add to an agent at time `now`. */
export function agentFlags(agent: AgentState, state: RunState, now: number): AgentFlags {
  const at = viewTime(state, now);
  return {
    stalled: isStalled(agent, state.stallAfterMs, at, state.startedAt),
    silentForMs: silentForMs(agent, at, state.startedAt),
  };
}

/** How many agents of the run are stalled at time `now`. */
export function stalledCount(state: RunState, now: number): number {
  return Object.values(state.agents).filter((agent) => agentFlags(agent, state, now).stalled).length;
}
