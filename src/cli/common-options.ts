import type { Command } from "commander";
import { parseCommentMode, parseIntervalOption, parseIssueOption } from "../config/options.js";

/** The options every command takes (CONTRACT: --dir, --repo, --api-url, --quiet, --verbose, and more). */
export function addCommonOptions(command: Command, { epic = true }: { epic?: boolean } = {}): Command {
  command
    .option("--dir <epic-dir>", "epic directory (holds task.md, the run state and the queue)", ".")
    .option(
      "--store <url>",
      "a PostgreSQL database shared by machines: postgres://... (default: PARALLEL_PROGRESS_STORE; none: the files in --dir)",
    );
  // init names its epic itself (required there); every other command names the run with a database store.
  if (epic) command.option("--epic <id>", "the run's epic with --store (default: PARALLEL_PROGRESS_EPIC)");
  return command
    .option(
      "--repo <owner/name>",
      "repository of the issue (default: task.md, GITHUB_REPOSITORY, git origin)",
    )
    .option("--api-url <url>", "GitHub REST API URL (default: GITHUB_API_URL or https://api.github.com)")
    .option("--issue <number>", "issue number when there is no task.md (or to override it)", parseIssueOption)
    .option(
      "--comment-mode <mode>",
      "edit (one progress comment edited in place) or append (one comment per write)",
      parseCommentMode,
    )
    .option(
      "--min-interval <ms>",
      "minimum time between two GitHub writes of the run (default 1000; 0 to 600000)",
      parseIntervalOption,
    )
    .option("-q, --quiet", "no warnings on stderr")
    .option("-v, --verbose", "say what is done on stderr");
}
