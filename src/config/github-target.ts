import {
  type CommentMode,
  GIVEN_SETTINGS,
  type GitHubTarget,
  type GivenSetting,
  type RunState,
} from "../model/types.js";
import type { FileSystem } from "../util/io.js";
import { originOnApiHost } from "./origin-host.js";
import { readTaskFile, statTaskFile, type TaskFileStat as TaskMdStat } from "./read-task-file.js";
import { type Env, readOriginUrl, resolveApiUrl, resolveRepo } from "./resolve.js";

/** GitHub settings given by the caller (CLI flags or library options); they win over task.md. */
export interface GitHubOverrides {
  issueNumber?: number;
  repo?: string;
  apiUrl?: string;
  commentMode?: CommentMode;
  minIntervalMs?: number;
  /** false turns GitHub sync off for this run whatever task.md says. */
  syncEnabled?: boolean;
}

/**
 * The settings above, declared once for the CLI and the library: each with the name commander gives its
 * CLI option (--issue is `issue`, --min-interval `minInterval`; syncEnabled has no flag).
 */
const GITHUB_OVERRIDES = {
  issueNumber: "issue",
  repo: "repo",
  apiUrl: "apiUrl",
  commentMode: "commentMode",
  minIntervalMs: "minInterval",
  syncEnabled: null,
} as const satisfies { [K in keyof GitHubOverrides]-?: string | null };

/** The CLI's options for the settings, by commander's names: `{ issue?: number, minInterval?: number, ... }`. */
export type GitHubFlags = {
  -readonly [K in keyof typeof GITHUB_OVERRIDES as NonNullable<
    (typeof GITHUB_OVERRIDES)[K]
  >]?: GitHubOverrides[K];
};

/** The settings given in `source`, whose keys are the settings' (`"setting"`) or their CLI options' (`"flag"`). */
export function givenOverrides(
  source: GitHubOverrides | GitHubFlags,
  by: "setting" | "flag",
): GitHubOverrides {
  const given: Record<string, unknown> = {};
  for (const [setting, flag] of Object.entries(GITHUB_OVERRIDES)) {
    const key = by === "setting" ? setting : flag;
    const value = key === null ? undefined : (source as Record<string, unknown>)[key];
    if (value !== undefined) given[setting] = value;
  }
  return given as GitHubOverrides;
}

const DEFAULT_MIN_INTERVAL_MS = 1000;

/** The run's settings given by a caller on an earlier command, plus those `overrides` gives now. */
function givenSettings(saved: GitHubTarget | null, overrides: GitHubOverrides): GivenSetting[] {
  const now = Object.keys(givenOverrides(overrides, "setting")).filter((key): key is GivenSetting =>
    (GIVEN_SETTINGS as readonly string[]).includes(key),
  );
  return [...new Set([...(saved?.given ?? []), ...now])].sort();
}

/** `given` for a target: left out when empty, so a run given nothing stores as before. */
const withGiven = (given: GivenSetting[]): { given?: GivenSetting[] } => (given.length > 0 ? { given } : {});

/** A saved setting a caller gave (it wins over task.md), else undefined. */
function savedGiven<K extends GivenSetting>(saved: GitHubTarget | null, key: K): GitHubTarget[K] | undefined {
  return saved?.given?.includes(key) ? saved[key] : undefined;
}

/**
 * Resolves where a run is posted, each setting from the first place that gives it: this call's flags,
 * the run's settings given by flags on earlier commands (`saved.given`), task.md's `github` block, the
 * run's other saved settings, then the environment (GITHUB_REPOSITORY, GITHUB_API_URL), the git
 * checkout's origin remote, and defaults.
 */
export async function resolveTarget(
  fs: FileSystem,
  epicDir: string,
  env: Env,
  overrides: GitHubOverrides,
  saved: GitHubTarget | null = null,
): Promise<Target> {
  // gray-matter and zod are loaded only when there is a task.md to parse (start-up time).
  const task = await readTaskFile(fs, epicDir);
  const settings = task?.settings;
  const issueNumber =
    overrides.issueNumber ??
    savedGiven(saved, "issueNumber") ??
    settings?.issueNumber ??
    saved?.issueNumber ??
    null;
  const taskRepo = savedGiven(saved, "repo") ?? settings?.repo ?? saved?.repo ?? null;
  const needsOrigin = overrides.repo === undefined && taskRepo === null && !env.GITHUB_REPOSITORY;
  const apiUrl =
    overrides.apiUrl === undefined && saved ? saved.apiUrl : resolveApiUrl(overrides.apiUrl, env);
  let originUrl = needsOrigin && issueNumber !== null ? await readOriginUrl(fs, epicDir) : null;
  let originElsewhere: Target["originElsewhere"] = null;
  if (originUrl) {
    const origin = await originOnApiHost(originUrl, apiUrl, env);
    if (!origin.onHost) {
      originElsewhere = { host: origin.host, apiHost: origin.apiHost };
      originUrl = null; // not this GitHub's repository: not taken
    }
  }
  const repo = resolveRepo({ flag: overrides.repo, taskRepo, env, originUrl });
  return {
    originElsewhere,
    overruled: overruledByFlags(settings, saved, overrides),
    unread: task ? task.settings.unread.map((what) => `${task.path}: ${what}`) : [],
    github: {
      issueNumber,
      repo: repo?.repo ?? null,
      apiUrl,
      syncEnabled: (settings?.syncEnabled ?? true) && overrides.syncEnabled !== false,
      commentMode:
        overrides.commentMode ??
        savedGiven(saved, "commentMode") ??
        settings?.commentMode ??
        saved?.commentMode ??
        "edit",
      minIntervalMs:
        overrides.minIntervalMs ??
        savedGiven(saved, "minIntervalMs") ??
        settings?.minIntervalMs ??
        saved?.minIntervalMs ??
        DEFAULT_MIN_INTERVAL_MS,
      ...withGiven(givenSettings(saved, overrides)),
    },
    taskFile: task ? { mtimeMs: task.mtimeMs, size: task.size } : null,
  };
}

/** What this machine last read of task.md for the run (null: there was none; undefined: never read here). */
type Seen = TaskFileStat | undefined;

type TaskFileStat = TaskMdStat | null;

/** Whether task.md is as this machine last read it (no task.md and no record: nothing to read). */
export function sameTaskFile(seen: Seen, stat: TaskFileStat): boolean {
  if (seen === undefined) return stat === null;
  if (seen === null || stat === null) return seen === stat;
  return stat.mtimeMs === seen.mtimeMs && stat.size === seen.size;
}

/** Whether this call could change the run's settings: flags given, or task.md changed since it was read here. */
function settingsMayChange(stat: TaskFileStat, seen: Seen, overrides: GitHubOverrides): boolean {
  return Object.values(overrides).some((value) => value !== undefined) || !sameTaskFile(seen, stat);
}

/**
 * Settings for the run, and the stat of the task.md they were read with (null: none), for this machine.
 * `originElsewhere`: the origin remote's repository was not taken, being on another host than the API's.
 * `overruled`: task.md's settings that differ from the run's given by flags (which win), for a warning.
 */
export type Target = {
  github: GitHubTarget;
  taskFile: TaskFileStat;
  originElsewhere?: { host: string; apiHost: string } | null;
  overruled?: Overruled[];
  /** What task.md seems to set but is not read (TaskSettings.unread), naming the file, for warnings. */
  unread?: string[];
};

/** A task.md setting not taken, the run's own given by a flag on an earlier command. */
export interface Overruled {
  /** task.md's key, e.g. `issue_number`. */
  key: string;
  taskValue: string | number;
  runValue: string | number;
}

/** task.md's key for each setting it may hold. */
const TASK_KEYS = {
  issueNumber: "issue_number",
  repo: "repo",
  commentMode: "comment_mode",
  minIntervalMs: "min_interval_ms",
} as const satisfies Record<GivenSetting, string>;

/** The task.md settings that differ from the run's given by flags earlier (not by this call's flags). */
function overruledByFlags(
  settings: Partial<Record<keyof typeof TASK_KEYS, string | number | null>> | undefined,
  saved: GitHubTarget | null,
  overrides: GitHubOverrides,
): Overruled[] {
  const overruled: Overruled[] = [];
  for (const [setting, key] of Object.entries(TASK_KEYS) as [keyof typeof TASK_KEYS, string][]) {
    const taskValue = settings?.[setting];
    const runValue = savedGiven(saved, setting);
    const absent = (value: unknown) => value === undefined || value === null;
    if (overrides[setting] !== undefined || absent(taskValue) || absent(runValue)) continue;
    const same =
      setting === "repo"
        ? String(taskValue).toLowerCase() === String(runValue).toLowerCase()
        : taskValue === runValue;
    if (!same) overruled.push({ key, taskValue: taskValue!, runValue: runValue! });
  }
  return overruled;
}

/**
 * The settings for a later command of a running run, when they can be had without reading anything (pure,
 * so a transaction can use it): the run's saved ones with this call's flags on top. Null: nothing
 * changes. "read": task.md changed since this machine read it (`seen`), or an issue was given to a run
 * without a repository; `resolveTarget` must read them.
 */
export function overlayTarget(
  state: RunState,
  stat: TaskFileStat,
  seen: Seen,
  overrides: GitHubOverrides,
  env: Env,
): Target | null | "read" {
  if (!settingsMayChange(stat, seen, overrides)) return null;
  if (!sameTaskFile(seen, stat)) return "read";
  const given = givenOverrides(overrides, "setting");
  // The repository and the API URL checked and normalized as init does; sync turned off, never on.
  const github: GitHubTarget = {
    ...state.github,
    ...given,
    syncEnabled: state.github.syncEnabled,
    ...withGiven(givenSettings(state.github, overrides)),
  };
  if (given.repo !== undefined) github.repo = resolveRepo({ flag: given.repo, env })?.repo ?? null;
  if (given.apiUrl !== undefined) github.apiUrl = resolveApiUrl(given.apiUrl, env);
  if (given.syncEnabled === false) github.syncEnabled = false;
  // An issue given now to a run that had none: its repository is found as init would find it.
  if (github.issueNumber !== null && github.repo === null) return "read";
  return { github, taskFile: stat };
}

/**
 * The settings for a later command of a running run: the run's saved ones with this call's flags on
 * top, re-reading task.md only when it changed since (one stat when nothing changed). Null: no change.
 * Settings given on any command are saved in the run, so later commands and the background writer use them.
 */
export async function refreshTarget(
  fs: FileSystem,
  epicDir: string,
  env: Env,
  state: RunState,
  seen: Seen,
  overrides: GitHubOverrides,
): Promise<Target | null> {
  const overlaid = overlayTarget(state, statTaskFile(fs, epicDir), seen, overrides, env);
  return overlaid === "read" ? resolveTarget(fs, epicDir, env, overrides, state.github) : overlaid;
}
