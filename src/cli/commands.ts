import type { Command } from "commander";
import {
  parseDomainsOption,
  parseFilesOption,
  parseStallAfterOption,
  parseStatusOption,
} from "../config/options.js";
import type { CommonOptions } from "./common.js";
import { addCommonOptions } from "./common-options.js";
import { registerDb } from "./db.js";
import * as run from "./handlers.js";
import { registerHistory } from "./history.js";
import { registerWatch } from "./watch.js";

/** The commander program's commands: options and help text; the work is in handlers.ts. */
export function registerCommands(program: Command, setExitCode: (code: number) => void): void {
  const done = (code: number) => setExitCode(code);

  command(program, "init", "start a run: prints one line per agent, domain<TAB>agent-id", { epic: false })
    .option("--epic <id>", "epic id, e.g. EPIC-007 (default: PARALLEL_PROGRESS_EPIC)")
    .requiredOption("--domains <a,b,c>", "comma-separated domains, one agent each", parseDomainsOption)
    .option("--json", "print the run as JSON instead")
    .option("--force", "abandon a run that is still active here and start a new one")
    .option(
      "--stall-after <duration>",
      "show agents silent this long as stalled (default 15m)",
      parseStallAfterOption,
    )
    .action(async (options) => done(await run.runInit(options)));

  command(program, "update <agent>", "report an agent's status and file counts")
    .requiredOption("--status <status>", "pending, in_progress, completed or failed", parseStatusOption)
    .option("--files <done/total>", "files done and total, e.g. 3/7 (default: unchanged)", parseFilesOption)
    .action(async (agent: string, options) => done(await run.runUpdate(agent, options)));

  command(program, "complete <agent>", "mark an agent completed")
    .option("--summary <text>", "the agent's result summary")
    .action(async (agent: string, options) => done(await run.runComplete(agent, options)));

  command(program, "fail <agent>", "mark an agent failed, with the reason shown on the issue")
    .requiredOption("--error <text>", "why it failed")
    .action(async (agent: string, options) => done(await run.runFail(agent, options)));

  command(program, "cancel <agent>", "mark an agent cancelled (it will do no more work)")
    .option("--reason <text>", "why, shown on the issue")
    .action(async (agent: string, options) => done(await run.runCancel(agent, options)));

  command(
    program,
    "log <agent> <message>",
    "record an event in the agent's log (the comment shows the latest)",
  ).action(async (agent: string, message: string, options: CommonOptions) =>
    done(await run.runLog(agent, message, options)),
  );

  command(program, "finalize", "retry the queue, then post the final summary (idempotent)")
    .option("--summary <text>", "the merge summary")
    .option("--summary-file <path>", "read the merge summary from a file")
    .action(async (options) => done(await run.runFinalize(options)));

  command(program, "retry", "retry the offline queue; exits 3 while posts remain queued")
    .option("--dry-run", "list what would be sent, send nothing")
    .action(async (options) => done(await run.runRetry(options)));

  command(program, "status", "show the run: a coloured table, --json, or --markdown (the comment body)")
    .option("--json", "print the run as JSON")
    .option("--markdown", "print the progress comment body")
    .action(async (options) => done(await run.runStatus(options)));

  registerWatch(program);
  registerHistory(program, done);
  registerDb(program, done);

  addCommonOptions(program.command("__flush", { hidden: true })).action(async (options: CommonOptions) =>
    done(await run.runFlush(options)),
  );
}

function command(
  program: Command,
  nameAndArgs: string,
  description: string,
  common: { epic?: boolean } = {},
): Command {
  return addCommonOptions(program.command(nameAndArgs).description(description), common);
}
