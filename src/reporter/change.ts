import { overlayTarget, refreshTarget, type Target } from "../config/github-target.js";
import { statTaskFile } from "../config/read-task-file.js";
import { keepRunIssue } from "../config/same-issue.js";
import { readTaskFileSeen, seenFor } from "../config/task-file-seen.js";
import { applyLog, assertActive, findAgent } from "../model/run.js";
import type { AgentState, GitHubTarget, RunState } from "../model/types.js";
import { commandDeadline } from "../sync/deadline.js";
import { canSync } from "../sync/decide.js";
import type { Claim } from "../sync/run-syncer.js";
import type { ReporterCore } from "./core.js";
import {
  givenFlags,
  readOver,
  recordTaskFile,
  refuseNamesOf,
  SETTINGS_READS,
  warnOfTaskFile,
} from "./task-settings.js";

/** How applyChange applies a change. */
export interface ChangeOptions {
  /** When it was made, if it is applied later (see applyingKeptChange). */
  madeAt?: number | null;
  /** It keeps agents' text, which `apply` masks (core.masked) with the secrets known as it runs. */
  keepsText?: boolean;
  /**
   * It reports the agent's status (update, complete, fail, cancel), so described (`update in_progress
   * 1/4`): the agent's `reportedAt` becomes when it was made. One kept while the store did not answer and
   * made before the agent's last report is not applied (an older report never overwrites a newer one, made
   * on another machine meanwhile): an event of the agent says so.
   */
  report?: string;
}

/**
 * A change of the run; `agentRef`: the agent it is about (for the finish events), if one; `options`: see
 * ChangeOptions.
 */
export async function applyChange(
  core: ReporterCore,
  agentRef: string | null,
  apply: (state: RunState, now: number) => RunState,
  { madeAt = null, keepsText = false, report }: ChangeOptions = {},
): Promise<void> {
  const deadline = commandDeadline(core.timer.now());
  const syncer = core.actor();
  const stat = statTaskFile(core.fs, core.epicDir);
  const record = readTaskFileSeen(core.fs, core.epicDir);
  let target: Target | null = null;
  /** The run's settings that `target` was read over (see readOver). */
  let basis: GitHubTarget | null = null;
  // The change and the write decision in one transaction: one lock, one state read and write per call.
  // Flags given on this call are applied in it too; only when task.md changed (or an issue was given to a
  // run without a repository) are the settings read first, outside the lock (a second pass).
  // Passes of the settings read (asking gh, below, is not one).
  let pass = 0;
  for (;;) {
    type Outcome =
      | { refresh: RunState }
      | { learn: string }
      | { next: RunState; made: Claim | null; before: AgentState | null };
    const outcome = await core.store.transact<Outcome>((current, now) => {
      const ended = endedAfter(current, madeAt);
      const active = ended ?? assertActive(current, core.place);
      const seen = seenFor(record, active.runId);
      // Read outside the lock, the settings are read again when another call saved its own meanwhile.
      const stale = basis !== null && pass < SETTINGS_READS && !readOver(active, basis);
      const overlaid =
        pass === 0 ? overlayTarget(active, stat, seen, core.overrides, core.env) : stale ? "read" : target;
      if (overlaid === "read") return { result: { refresh: active } };
      const base = overlaid
        ? { ...active, github: keepRunIssue(active, overlaid.github, givenFlags(core)) }
        : active;
      // Text kept in a run that posts: a token only gh gives is masked in it before any store keeps it
      // (a shared database never holds one), so gh is asked first, outside the lock (a second pass).
      // So for a run that starts posting with this change (an issue given since init): its names go
      // into every post and queue file, and are refused holding such a token, as init refuses them.
      const startsPosting = canSync(base) && !canSync(active);
      if ((keepsText || startsPosting) && canSync(base) && core.mayLearnTokens(base.github.apiUrl)) {
        return { result: { learn: base.github.apiUrl } };
      }
      if (startsPosting) refuseNamesOf(base, core.secrets());
      // A finalized run taking a change made before its end: the change keeps the time it was made, and
      // the run its last word ("Parallel execution completed").
      const older =
        agentRef && report && madeAt !== null ? olderReport(active, agentRef, report, madeAt) : null;
      const at = ended ? madeAt! : madeAt === null ? now : keptAt(active, agentRef, madeAt, now);
      const applied = older ? applyLog(base, agentRef!, older, at) : apply(base, at);
      const reported =
        agentRef && report && !older ? withReportedAt(applied, agentRef, madeAt ?? now, now) : applied;
      const changed = ended ? { ...reported, event: ended.event } : reported;
      const made = canSync(changed) ? syncer.claim(changed, now, { ensureBackgroundWriter: true }) : null;
      const next = made?.state ?? changed;
      const before = agentRef === null ? null : findAgent(active, agentRef);
      return { next, result: { next, made, before } };
    });
    if ("learn" in outcome) {
      await core.learnTokens(outcome.learn);
      continue;
    }
    if ("refresh" in outcome) {
      const seen = seenFor(record, outcome.refresh.runId);
      target = await refreshTarget(core.fs, core.epicDir, core.env, outcome.refresh, seen, core.overrides);
      if (basis === null) await warnOfTaskFile(core, target);
      basis = outcome.refresh.github;
      pass++;
      continue;
    }
    if (target) recordTaskFile(core, outcome.next.runId, target, record);
    core.changed(outcome.next);
    const thrown = core.listeners.changed(outcome.next, outcome.before);
    // The write this change claimed is done (or queued) whatever a listener did: unused, its lease would
    // hold every process's writes back until it expired.
    const result = outcome.made ? await syncer.act(outcome.made, deadline) : null;
    const synced = core.listeners.synced(result);
    core.listeners.rethrow(thrown ?? synced);
    return;
  }
}

/**
 * The time a kept change made at `madeAt` takes in an active run: when it was made (an agent's durations
 * and the ETA measure its work, not the outage), but not before its agent's last report (the run's start,
 * for none), which keeps each agent's times in order, nor after `now` (the store's clock: this machine's
 * may be ahead).
 */
function keptAt(state: RunState, agentRef: string | null, madeAt: number, now: number): number {
  const last = Date.parse(agentRef === null ? state.startedAt : findAgent(state, agentRef).updatedAt);
  return keptTime(madeAt, last, now);
}

/**
 * The event that says why a report made at `madeAt` and kept while the store did not answer is not applied
 * (the agent reported since: the run shows the newer one), or null when it applies. An agent of a run
 * from before `reportedAt` was recorded takes it.
 */
function olderReport(state: RunState, agentRef: string, report: string, madeAt: number): string | null {
  const last = findAgent(state, agentRef).reportedAt;
  if (!last || madeAt >= Date.parse(last)) return null;
  const made = new Date(madeAt).toISOString();
  return `not applied: ${report}, made ${made} while the store did not answer, is older than the agent's last report (${last})`;
}

/** `state` with its agent `agentRef` last reported at `madeAt` (not after `now`, the store's clock). */
function withReportedAt(state: RunState, agentRef: string, madeAt: number, now: number): RunState {
  const agent = findAgent(state, agentRef);
  const reportedAt = new Date(Math.min(madeAt, now)).toISOString();
  return { ...state, agents: { ...state.agents, [agent.agentId]: { ...agent, reportedAt } } };
}

/** When a kept change made at `madeAt` takes effect: then, but not before `last`, nor after `now`. */
export const keptTime = (madeAt: number, last: number, now: number): number =>
  Math.min(now, Math.max(madeAt, last));

/**
 * The run, when it was finalized after a change made at `madeAt`: it takes the change, which came before
 * its end (see applyingKeptChange). Null otherwise. (A replaced run is never the one a change reads.)
 */
function endedAfter(state: RunState | null, madeAt: number | null): RunState | null {
  if (state === null || madeAt === null || !state.completedAt) return null;
  return madeAt <= Date.parse(state.finalizeMadeAt ?? state.completedAt) ? state : null;
}
