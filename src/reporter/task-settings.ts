import { isDeepStrictEqual } from "node:util";
import { refreshTarget, sameTaskFile, type Target } from "../config/github-target.js";
import { refuseSecretsIn, refuseSecretsInTarget } from "../config/options.js";
import { readTaskFile, statTaskFile } from "../config/read-task-file.js";
import { keepRunIssue } from "../config/same-issue.js";
import { quote } from "../config/show-value.js";
import { readTaskFileSeen, seenFor, writeTaskFileSeen } from "../config/task-file-seen.js";
import { UsageError } from "../errors.js";
import type { GitHubTarget, RunState } from "../model/types.js";
import { canSync } from "../sync/decide.js";
import type { ReporterCore } from "./core.js";

// A run's GitHub settings as a call reads them: the caller's flags, task.md (read again only when it
// changed since the run's settings were saved on this machine) and the environment.

/**
 * The settings a call read for run `runId` (null: nothing changed since they were saved), over the run's
 * settings as they were then (`basis`): another process's flags saved since make them stale.
 */
export type ReadSettings = { runId: string; basis: GitHubTarget; target: Target | null };

/** How many times a call reads its settings again when other calls changed the run's meanwhile. */
export const SETTINGS_READS = 5;

/** Whether the run's settings are still those `read` was made over. */
export const readOver = (state: RunState, basis: GitHubTarget): boolean =>
  isDeepStrictEqual(state.github, basis);

/** With no run here: whether this directory may talk to GitHub (task.md, the library's option). */
export async function syncEnabledWithoutRun(core: ReporterCore): Promise<boolean> {
  if (core.overrides.syncEnabled === false) return false;
  return (await readTaskFile(core.fs, core.epicDir))?.settings.syncEnabled ?? true;
}

/** This call's GitHub settings (and a changed task.md), saved in the run; resolves to the run after. */
export async function saveSettings(
  core: ReporterCore,
  current: RunState,
  settings?: ReadSettings,
): Promise<RunState | null> {
  let read = await settingsOver(core, current, settings);
  for (let reads = 1; ; reads++) {
    const { target, basis } = read;
    if (!target) return current;
    if (reads === 1) {
      warnIfNoRepository(core, target);
      await warnOfTaskFile(core, target);
      await refuseIfStartsPosting(core, current, target);
    }
    // Read outside the lock: when another call saved settings of its own meanwhile (its flags), read again
    // over them, rather than put the older ones back.
    const saved = await core.store.transact<RunState | { stale: RunState } | null>((state) => {
      if (!state) return { result: null };
      if (reads < SETTINGS_READS && state.runId === read.runId && !readOver(state, basis)) {
        return { result: { stale: state } };
      }
      const next = { ...state, github: keepRunIssue(state, target.github, givenFlags(core)) };
      return { next, result: next };
    });
    if (saved && "stale" in saved) {
      current = saved.stale;
      read = await readSettings(core, current);
      continue;
    }
    if (saved) recordTaskFile(core, saved.runId, target);
    return saved;
  }
}

/**
 * The run as saveSettings would make it, saved nowhere (a dry run plans with the settings the real call
 * would read, and changes nothing): warns and throws as saveSettings does.
 */
export async function settingsAsRead(
  core: ReporterCore,
  current: RunState,
  settings?: ReadSettings,
): Promise<RunState> {
  const { target } = await settingsOver(core, current, settings);
  if (!target) return current;
  warnIfNoRepository(core, target);
  await warnOfTaskFile(core, target);
  await refuseIfStartsPosting(core, current, target);
  return { ...current, github: keepRunIssue(current, target.github, givenFlags(core)) };
}

/**
 * `target` held to the run as a change holds it (keepRunIssue: another issue refused), and a run that
 * starts posting with it (an issue given since init) refused when its names hold a token only gh gives,
 * as init refuses them: they go into every post and queue file. gh is asked first.
 */
export async function refuseIfStartsPosting(
  core: ReporterCore,
  current: RunState,
  target: Target,
): Promise<void> {
  const next = { ...current, github: keepRunIssue(current, target.github, givenFlags(core)) };
  if (canSync(current) || !canSync(next)) return;
  await core.learnTokens(next.github.apiUrl);
  refuseNamesOf(next, core.secrets());
}

/** Refuses a run whose names (kept in every post and queue file as they are) hold one of `secrets`. */
export function refuseNamesOf(state: RunState, secrets: readonly string[]): void {
  const why = "the run starts posting to an issue";
  refuseSecretsIn([state.epicId, state.runId], secrets, `epic (${why}; start a new run)`);
  refuseSecretsIn(
    Object.values(state.agents).map((agent) => agent.domain),
    secrets,
    `domains (${why}; start a new run)`,
  );
  refuseSecretsInTarget(state.github.repo, state.github.apiUrl, secrets);
}

/** `settings` when they were read over the run's current ones, else this call's read now. */
function settingsOver(core: ReporterCore, current: RunState, settings?: ReadSettings): Promise<ReadSettings> {
  return settings?.runId === current.runId && readOver(current, settings.basis)
    ? Promise.resolve(settings)
    : readSettings(core, current);
}

/** This call's settings over the run's saved ones (see refreshTarget); null: nothing changed. */
export async function readSettings(core: ReporterCore, current: RunState): Promise<ReadSettings> {
  const seen = seenFor(readTaskFileSeen(core.fs, core.epicDir), current.runId);
  const target = await refreshTarget(core.fs, core.epicDir, core.env, current, seen, core.overrides);
  return { runId: current.runId, basis: current.github, target };
}

/**
 * Remembers, on this machine, which task.md the run's settings were just read with (none: nothing to
 * remember unless one was recorded before, as an unrecorded missing task.md needs no reading).
 */
export function recordTaskFile(
  core: ReporterCore,
  runId: string,
  target: Target,
  record: ReturnType<typeof readTaskFileSeen> = readTaskFileSeen(core.fs, core.epicDir),
): void {
  if (target.taskFile === null && record === undefined) return;
  writeTaskFileSeen(core.fs, core.epicDir, { runId, taskFile: target.taskFile });
}

/**
 * Warns when task.md changed since the run's settings were read from it on this machine and the next change
 * would refuse it (status reads the run, not task.md, and changes nothing): the mistake is said before a
 * workflow's next event meets it. An unchanged task.md costs one stat and no parse.
 */
export async function warnOfRefusedTaskFile(core: ReporterCore, state: RunState): Promise<void> {
  const seen = seenFor(readTaskFileSeen(core.fs, core.epicDir), state.runId);
  try {
    if (sameTaskFile(seen, statTaskFile(core.fs, core.epicDir))) return;
    // Read as a change reads it, and held to the run as a change holds it (another issue, a token).
    const { target } = await readSettings(core, state);
    if (target) keepRunIssue(state, target.github, givenFlags(core));
  } catch (error) {
    // What else goes wrong (an unreadable folder) is for the change to say: status shows the run.
    if (!(error instanceof UsageError)) return;
    // The message may quote task.md's values: a token only gh gives among them is masked (asked first).
    if (canSync(state)) await core.learnTokens(state.github.apiUrl);
    core.warn(`${error.message} (the next change refuses it until it is mended)`);
  }
}

/** Which GitHub settings this call's caller gave (CLI flags, library options), for messages. */
export function givenFlags(core: ReporterCore): { issue: boolean; repo: boolean } {
  return { issue: core.overrides.issueNumber !== undefined, repo: core.overrides.repo !== undefined };
}

/**
 * Warns of what task.md seems to set but is not read (a misspelt key), and of its settings the run does
 * not take: its own were given by flags, which win over task.md.
 */
export async function warnOfTaskFile(core: ReporterCore, target: Target | null): Promise<void> {
  const unread = target?.unread ?? [];
  const overruled = target?.overruled ?? [];
  if (!target || (unread.length === 0 && overruled.length === 0)) return;
  // These quote task.md's keys and values: for a run that posts, a token only gh gives among them is
  // masked (gh asked first, as a write would).
  const { issueNumber, syncEnabled, apiUrl } = target.github;
  if (issueNumber !== null && syncEnabled) await core.learnTokens(apiUrl);
  for (const line of unread) core.warn(line);
  if (overruled.length === 0) return;
  const list = overruled
    .map(
      ({ key, taskValue, runValue }) => `github.${key} ${quote(taskValue)} (the run's: ${quote(runValue)})`,
    )
    .join(", ");
  core.warn(`task.md ${list}: the run keeps its own, given by a flag, which wins over task.md`);
}

export function warnIfNoRepository(core: ReporterCore, target: Target): void {
  const { github, originElsewhere } = target;
  if (github.issueNumber === null || github.repo !== null || !github.syncEnabled) return;
  if (originElsewhere) {
    core.warn(
      `issue #${github.issueNumber} is given but no repository: the git origin remote is on ${originElsewhere.host}, not ${originElsewhere.apiHost} where posts go, so its repository is not taken (give --repo, task.md github.repo or GITHUB_REPOSITORY, or --api-url / GITHUB_API_URL for GitHub Enterprise): tracking locally`,
    );
    return;
  }
  core.warn(
    `issue #${github.issueNumber} is given but no repository (--repo, task.md github.repo, GITHUB_REPOSITORY or a git origin remote): tracking locally`,
  );
}

/** Records in task.md (github.last_synced) that the final summary reached the issue. */
export async function writeLastSynced(core: ReporterCore): Promise<void> {
  const { writeLastSynced } = await import("../config/last-synced.js");
  const result = await writeLastSynced(core.fs, `${core.epicDir}/task.md`, core.clock.now()).catch(
    () => "failed" as const,
  );
  if (result === "written") {
    // Our own edit: the run's record of task.md follows it, so that the next command (a status) does not
    // take it for the user's and parse the file again each time.
    const runId = core.state?.runId;
    const record = readTaskFileSeen(core.fs, core.epicDir);
    if (runId && record?.runId === runId) {
      writeTaskFileSeen(core.fs, core.epicDir, { runId, taskFile: statTaskFile(core.fs, core.epicDir) });
    }
  } else if (result === "cannot-edit") {
    core.warn("task.md: could not record github.last_synced (no block-style `github:` mapping)");
  } else if (result === "not-utf8") {
    core.warn("task.md: could not record github.last_synced (the file is not UTF-8 text: left as it is)");
  } else if (result === "not-owner") {
    core.warn(
      "task.md: could not record github.last_synced (the file is another user's, or of a group this user is not in: replacing it would change its owner; left as it is)",
    );
  } else if (result === "changed") {
    core.warn("task.md: could not record github.last_synced (the file kept changing while it was written)");
  } else if (result === "failed" && statTaskFile(core.fs, core.epicDir) !== null) {
    core.warn("task.md: could not record github.last_synced (the file could not be read or written)");
  }
}
