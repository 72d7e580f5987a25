import { statSync } from "node:fs";
import type { Command } from "commander";
import { checkEpicDir } from "../config/epic-dir.js";
import {
  parseCommentMode,
  parseDirOption,
  parseEpicOption,
  parseIntervalOption,
  parseIssueOption,
  parseStoreOption,
} from "../config/options.js";
import { parseApiUrlOption, parseRepoOption } from "../config/resolve.js";

/**
 * The options every command takes (CONTRACT: --dir, --repo, --api-url, --quiet, --verbose, and more),
 * declared once, on the program: commander reads a program's options anywhere on the line (before or
 * after the command), lists them under "Global Options" in each command's help (declare.ts), and each action gets
 * them with its own (the preAction hook). Declared on each of the fourteen commands instead, they were a
 * hundred option objects built at every start.
 */
export function addCommonOptions(program: Command): Command {
  return program
    .option(
      "--dir <epic-dir>",
      "epic directory (holds task.md, the run state and the queue)",
      parseDirOption,
      ".",
    )
    .option(
      "--store <url>",
      "a PostgreSQL database shared by machines: postgres://... (default: PARALLEL_PROGRESS_STORE; none: the files in --dir)",
      parseStoreOption,
    )
    .option(
      "--epic <id>",
      "the run's epic: init's id for a new run (e.g. EPIC-007); with --store, the run every command acts on; history: the epic to list (default: PARALLEL_PROGRESS_EPIC)",
      parseEpicOption,
    )
    .option(
      "--repo <owner/name>",
      "repository of the issue (default: task.md, GITHUB_REPOSITORY, git origin)",
      (value: string) => parseRepoOption(value, process.env),
    )
    .option(
      "--api-url <url>",
      "GitHub REST API URL (default: GITHUB_API_URL or https://api.github.com)",
      (value: string) => parseApiUrlOption(value, process.env),
    )
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
    .option("-v, --verbose", "say what is done on stderr")
    .hook("preAction", (self, action) => {
      checkEpicDir({ statSync }, self.opts().dir, "--dir");
      // The action's options object gets the program's too (commander's optsWithGlobals, as values).
      for (const [key, value] of Object.entries(self.opts())) {
        action.setOptionValueWithSource(key, value, self.getOptionValueSource(key) ?? "default");
      }
    });
}
