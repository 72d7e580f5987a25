import type { Command } from "commander";
import { parseCommentMode, parseIntervalOption, parseIssueOption } from "../config/options.js";

/** The options every command takes (CONTRACT: --dir, --repo, --api-url, --quiet, --verbose, and more). */
export function addCommonOptions(command: Command): Command {
  return command
    .option("--dir <epic-dir>", "epic directory (holds task.md, the run state and the queue)", ".")
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
