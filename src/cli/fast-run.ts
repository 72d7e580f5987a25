import {
  parseCommentMode,
  parseFilesOption,
  parseIntervalOption,
  parseIssueOption,
  parseStatusOption,
} from "../config/options.js";
import type { CommonOptions } from "./common.js";
import type { FastCall } from "./fast-argv.js";
import { runCancel, runComplete, runFail, runFlush, runLog, runUpdate } from "./handlers.js";

/** Runs a call read by the fast argv reader, with the same value parsing as the full program. */
export function runFast({ command, positionals, values }: FastCall): Promise<number> {
  const options: CommonOptions = { dir: values.dir ?? "." };
  if (values.repo !== undefined) options.repo = values.repo;
  if (values.apiUrl !== undefined) options.apiUrl = values.apiUrl;
  if (values.issue !== undefined) options.issue = parseIssueOption(values.issue);
  if (values.commentMode !== undefined) options.commentMode = parseCommentMode(values.commentMode);
  if (values.minInterval !== undefined) options.minInterval = parseIntervalOption(values.minInterval);
  if (values.store !== undefined) options.store = values.store;
  if (values.epic !== undefined) options.epic = values.epic;
  if (values.quiet) options.quiet = true;
  if (values.verbose) options.verbose = true;
  const [agent = "", message = ""] = positionals;
  switch (command) {
    case "update":
      return runUpdate(agent, {
        ...options,
        status: parseStatusOption(values.status!),
        files: values.files === undefined ? undefined : parseFilesOption(values.files),
      });
    case "complete":
      return runComplete(
        agent,
        values.summary === undefined ? options : { ...options, summary: values.summary },
      );
    case "fail":
      return runFail(agent, { ...options, error: values.error! });
    case "cancel":
      return runCancel(agent, values.reason === undefined ? options : { ...options, reason: values.reason });
    case "log":
      return runLog(agent, message, options);
    case "__flush":
      return runFlush(options);
  }
}
