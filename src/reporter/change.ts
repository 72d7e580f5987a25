import { overlayTarget, refreshTarget, type Target } from "../config/github-target.js";
import { statTaskFile } from "../config/read-task-file.js";
import { keepRunIssue } from "../config/same-issue.js";
import { readTaskFileSeen, seenFor } from "../config/task-file-seen.js";
import { assertActive, findAgent } from "../model/run.js";
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

/**
 * A change of the run; `agentRef`: the agent it is about (for the finish events), if one; `madeAt`: when
 * it was made, if it is applied later (see applyingKeptChange); `keepsText`: it keeps agents' text, which
 * `apply` masks (core.masked) with the secrets known as it runs.
 */
export async function applyChange(
  core: ReporterCore,
  agentRef: string | null,
  apply: (state: RunState, now: number) => RunState,
  madeAt: number | null = null,
  keepsText = false,
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
      const changed = ended
        ? { ...apply(base, madeAt!), event: ended.event }
        : apply(base, madeAt === null ? now : keptAt(active, agentRef, madeAt, now));
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
