import { keptMergeSummary } from "../model/agent-text.js";
import { applyFinalize, noRunError } from "../model/run.js";
import type { RunState } from "../model/types.js";
import { commandDeadline } from "../sync/deadline.js";
import { canSync } from "../sync/decide.js";
import { keptTime } from "./change.js";
import type { ReporterCore } from "./core.js";
import { retry } from "./retry.js";
import { type ReadSettings, readSettings, refuseIfStartsPosting } from "./task-settings.js";
import type { FinalizeResult } from "./types.js";

/**
 * finalizeParallelExecution once its arguments are checked: the run finalized (once), then the queue
 * retried and the issue brought to the final state. `madeAt`: when the call was made, if it is applied
 * later (see applyingKeptChange). `unread`: characters that followed the summary given, not kept either.
 */
export async function finalizeRun(
  core: ReporterCore,
  mergeSummary: string | null | undefined,
  madeAt: number | null,
  unread = 0,
): Promise<FinalizeResult> {
  const deadline = commandDeadline(core.timer.now());
  // An active run pointed at another issue is refused before it is finalized (state untouched).
  // The settings are read once here and saved by the retry below.
  const active = await core.store.read();
  let settings: ReadSettings | undefined;
  if (active && !active.completedAt) {
    settings = await readSettings(core, active);
    // Refuses another issue (keepRunIssue), and a run starting to post whose names hold a token gh gives.
    if (settings.target) await refuseIfStartsPosting(core, active, settings.target);
  }
  // A token only gh gives is masked in the summary before any store keeps it (see applyChange).
  if (active && canSync(active) && mergeSummary?.trim()) await core.learnTokens(active.github.apiUrl);
  const kept = keptMergeSummary(core.masked(mergeSummary ?? ""));
  const { summary } = kept;
  // What followed the summary given (unread) is not kept either.
  const cut = kept.cut + unread;
  const { state, finalizedNow } = await core.store.transact((current, now) => {
    if (!current) throw noRunError(core.place);
    if (current.completedAt) return { result: { state: current, finalizedNow: false } };
    // A finalize kept while the database did not answer ended the run when it was made (its duration and
    // history measure the work, not the outage), though not before the run's latest report.
    const at = madeAt === null ? now : endedAt(current, madeAt, now);
    const finalized = applyFinalize(current, summary, at, cut);
    // Made earlier than applied (kept while the database did not answer): the run's end for kept changes.
    const next =
      madeAt === null
        ? finalized
        : { ...finalized, finalizeMadeAt: new Date(Math.min(madeAt, now)).toISOString() };
    return { next, result: { state: next, finalizedNow: true } };
  });
  core.changed(state);
  const thrown = finalizedNow ? core.listeners.changed(state) : null;
  // The retry saves this call's settings, then brings the issue to the final state (and loads it).
  const report = await retry(core, { deadline }, settings);
  // Why entries of other runs stay queued (this run's failed writes were warned about as they failed).
  for (const message of report.errors) core.warn(`GitHub: ${message}`);
  core.listeners.rethrow(thrown);
  const after = core.state ?? state;
  return {
    finalizedNow,
    summaryUnused: !finalizedNow && summary.trim() !== "" && summary !== (state.mergeSummary ?? ""),
    posted: after.sync.finalCommentId !== null,
    queued: report.remaining,
    waitingUntil: report.remaining > 0 ? report.waitingUntil : null,
    commentUrl: after.sync.commentUrl,
    finalCommentUrl: after.sync.finalCommentUrl,
  };
}

/**
 * When a finalize made at `madeAt` and applied at `now` ended the run: when it was made, but not before
 * the run's latest report (an agent's, or its start), nor after `now` (the store's clock).
 */
function endedAt(state: RunState, madeAt: number, now: number): number {
  let last = Date.parse(state.startedAt);
  for (const agent of Object.values(state.agents)) last = Math.max(last, Date.parse(agent.updatedAt));
  return keptTime(madeAt, last, now);
}
