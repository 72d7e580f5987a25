import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { type Command, Option } from "commander";
import { parseIntervalOption, parseIssueOption } from "../config/options.js";
import { createParallelReporter, type ParallelProgressReporter } from "../reporter.js";
import type { GitHubOverrides } from "../settings.js";
import { type ActionsContext, actionsContext, annotation } from "./actions.js";
import { createOutput, type Output } from "./output.js";

/** Options every command takes. */
export interface CommonOptions {
  dir: string;
  repo?: string;
  apiUrl?: string;
  issue?: number;
  commentMode?: "edit" | "append";
  minInterval?: number;
  quiet?: boolean;
  verbose?: boolean;
}

export function addCommonOptions(command: Command): Command {
  return command
    .option("--dir <epic-dir>", "epic directory (holds task.md, the run state and the queue)", ".")
    .option(
      "--repo <owner/name>",
      "repository of the issue (default: task.md, GITHUB_REPOSITORY, git origin)",
    )
    .option("--api-url <url>", "GitHub REST API URL (default: GITHUB_API_URL or https://api.github.com)")
    .option("--issue <number>", "issue number when there is no task.md (or to override it)", parseIssueOption)
    .addOption(
      new Option(
        "--comment-mode <mode>",
        "edit: one progress comment edited in place; append: one per update",
      ).choices(["edit", "append"]),
    )
    .option("--min-interval <ms>", "minimum time between two GitHub writes of the run", parseIntervalOption)
    .option("-q, --quiet", "no warnings on stderr")
    .option("-v, --verbose", "say what is done on stderr");
}

export interface Context {
  out: Output;
  reporter: ParallelProgressReporter;
  options: CommonOptions;
  /** Set inside GitHub Actions (GITHUB_ACTIONS=true). */
  actions: ActionsContext | null;
}

/** The reporter for a CLI call: the CLI's output for warnings, a detached process as the flusher. */
export function createContext(options: CommonOptions): Context {
  const actions = actionsContext(process.env);
  const out = createOutput({
    quiet: options.quiet ?? false,
    verbose: options.verbose ?? false,
    ...(actions ? { annotate: (message: string) => annotation("warning", message) } : {}),
  });
  const github: GitHubOverrides = {};
  if (options.repo !== undefined) github.repo = options.repo;
  if (options.apiUrl !== undefined) github.apiUrl = options.apiUrl;
  if (options.issue !== undefined) github.issueNumber = options.issue;
  if (options.commentMode !== undefined) github.commentMode = options.commentMode;
  if (options.minInterval !== undefined) github.minIntervalMs = options.minInterval;
  const dir = resolve(options.dir);
  const reporter = createParallelReporter(dir, {
    github,
    onWarning: (message) => out.warn(message),
    flusher: () => startDetachedFlusher(dir, out),
  });
  return { out, reporter, options, actions };
}

/**
 * Starts `parallel-progress __flush` detached from this process, so this call returns at once and the
 * coalesced latest state still reaches the issue when its write falls due. The token travels in the
 * inherited environment, never on the command line.
 */
function startDetachedFlusher(dir: string, out: Output): void {
  const script = process.argv[1];
  if (!script) return;
  try {
    const child = spawn(process.execPath, [script, "__flush", "--dir", dir], {
      detached: true,
      stdio: "ignore",
      env: process.env,
    });
    child.on("error", (error) => out.warn(`could not start the background writer: ${error.message}`));
    child.unref();
    out.info(`background writer started (pid ${child.pid ?? "?"})`);
  } catch (error) {
    out.warn(`could not start the background writer: ${(error as Error).message}`);
  }
}
