import type { FakeGitHub } from "../../test/support/fake-github/index.js";
import type { FakeGitHubOptions } from "../../test/support/fake-github/types.js";
import { type Epics, ISSUE, LOCAL_TASK, REPO, SYNCED_TASK } from "./epic.js";
import { cleanEnv, cliOutput, drainFlushers, TOKEN } from "./proc.js";

/** The fake GitHub of the start-up measures: rate limits are the burst's subject, not theirs. */
export const STARTUP_FAKE: FakeGitHubOptions = {
  tokens: { [TOKEN]: "octo-bot" },
  writesPerMinute: 1_000_000,
  writesPerHour: 1_000_000,
};

/** What every start-up variant runs against: a local run, a synced run, and the bare script's comment. */
export interface StartupFixture {
  localEnv: Record<string, string>;
  syncEnv: Record<string, string>;
  localDir: string;
  syncDir: string;
  /** Arguments of the bare one-PATCH script: a comment of its own, the size of the run's. */
  bareArgs: string[];
}

/** Starts a local and a synced run with `bin` (the CLI under test). */
export async function startupFixture(epics: Epics, github: FakeGitHub, bin: string): Promise<StartupFixture> {
  const localEnv = cleanEnv();
  const syncEnv = cleanEnv({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url });
  const localDir = await epics.make(LOCAL_TASK);
  const syncDir = await epics.make(SYNCED_TASK);
  await cliOutput(["init", "--epic", "BENCH-LOCAL", "--domains", "a,b,c", "--dir", localDir], localEnv, bin);
  await cliOutput(["init", "--epic", "BENCH-SYNC", "--domains", "a,b,c", "--dir", syncDir], syncEnv, bin);
  await drainFlushers(syncDir, 5_000);
  const progress = github.comments(REPO, ISSUE).at(-1);
  if (!progress) throw new Error("init with sync on posted no progress comment");
  // The bare script edits a comment of its own (same author, same size), so it never touches the run's.
  const own = github.addComment(REPO, ISSUE, "baseline", "octo-bot").id;
  return { localEnv, syncEnv, localDir, syncDir, bareArgs: [String(own), String(progress.body.length)] };
}

/** `update a --status in_progress --files <i mod 7>/7 --dir <dir> ...extra`: each call changes something. */
export const updateArgs = (dir: string, i: number, extra: readonly string[] = []): string[] => [
  "update",
  "a",
  "--status",
  "in_progress",
  "--files",
  `${i % 7}/7`,
  "--dir",
  dir,
  ...extra,
];
