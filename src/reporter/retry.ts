import { resolveApiUrl } from "../config/resolve.js";
import type { RunState } from "../model/types.js";
import { commandDeadline } from "../sync/deadline.js";
import { canSync } from "../sync/decide.js";
import type { RetryReport } from "../sync/retry-queue.js";
import type { ReporterCore } from "./core.js";
import {
  type ReadSettings,
  saveSettings,
  settingsAsRead,
  syncEnabledWithoutRun,
  writeLastSynced,
} from "./task-settings.js";

/**
 * retryReport (`dryRun`: only say what would be sent; everything sent gives up at `deadline`), with the
 * settings this call already read (finalize), if any.
 */
export async function retry(
  core: ReporterCore,
  options: { dryRun?: boolean; deadline?: number },
  settings?: ReadSettings,
): Promise<RetryReport> {
  const deadline = options.deadline ?? commandDeadline(core.timer.now());
  const before = await core.store.read();
  // No run and nothing queued: nothing to send, and nothing made (a retry in a mistyped --dir leaves
  // the file system as it was), but what was set aside earlier is still said. With a run, the retry also
  // brings the issue to the run's state.
  if (!before && core.queue.count() === 0) {
    warnSetAsideEarlier(core);
    return { sent: 0, remaining: 0, plan: [], owed: [], setAside: [], errors: [], waitingUntil: null };
  }
  // task.md read as a change reads it (a run given its issue since, sync turned back on): saved, or for a
  // dry run only planned with.
  const current =
    before &&
    (options.dryRun
      ? await settingsAsRead(core, before, settings)
      : await saveSettings(core, before, settings));
  // Other runs' queued posts go to the API this call is configured with (the run's own posts, to its API).
  const apiUrl = resolveApiUrl(core.overrides.apiUrl, core.env);
  // Sync turned off here (task.md's github.sync_enabled: false): no GitHub traffic, earlier runs' posts
  // included; what is queued stays (held), and a dry run plans the same.
  const syncOff = !(current ? current.github.syncEnabled : await syncEnabledWithoutRun(core));
  const { retryQueue } = await import("../sync/retry-queue.js");
  const report = await retryQueue(core.actor(), {
    ...options,
    dryRun: options.dryRun || syncOff,
    syncOff,
    runElsewhere: runWrittenElsewhere(core, current),
    ...(options.dryRun ? { state: current } : {}),
    deadline,
    apiUrl,
  });
  if (syncOff && report.remaining > 0) {
    report.errors.push(
      `sync is off (github.sync_enabled: false): nothing ${options.dryRun ? "would be " : ""}sent, ${report.remaining} post(s) stay queued`,
    );
  }
  // A file moved aside was said as it was moved (the queue's onSetAside); a dry run, and a retry while
  // sync is off (which reads the queue as a dry run does), only name it.
  if (options.dryRun || syncOff) {
    const why = options.dryRun ? "dry run" : "sync is off";
    for (const aside of report.setAside) {
      core.warn(`queue file ${aside.name} is unreadable (${aside.reason}); left in place (${why})`);
    }
  }
  warnSetAsideEarlier(core);
  const after = await core.read();
  // The final summary just reached the issue (by finalize or by a later retry): record it in task.md.
  if (after?.sync.finalCommentId && !before?.sync.finalCommentId && after.runId === before?.runId) {
    await writeLastSynced(core);
  }
  core.listeners.rethrow();
  return report;
}

/**
 * The queue files moved aside earlier (by an earlier command, or the background writer, whose warning goes
 * nowhere): said at each retry and finalize until deleted, with a run or without one.
 */
function warnSetAsideEarlier(core: ReporterCore): void {
  const earlier = core.queue.setAsideEarlier();
  if (earlier.length > 0) {
    core.warn(
      `${earlier.length} unreadable queue file(s) set aside earlier (${earlier[0]}${earlier.length > 1 ? ", …" : ""}): not sent; read them, then delete them`,
    );
  }
}

/** Why a retry of this call would not write `state` (its GitHub API is not the call's), or null. */
function runWrittenElsewhere(core: ReporterCore, state: RunState | null): string | null {
  return state && canSync(state) ? core.runApiElsewhere(state.github.apiUrl) : null;
}
