import type { Command } from "commander";
import {
  parseCostOption,
  parseCriteriaOption,
  parseDomainsOption,
  parseFilesOption,
  parseIterationOption,
  parseMaxCostOption,
  parseStallAfterOption,
  parseStatusOption,
} from "../config/options.js";
import { addCommonOptions } from "./common-options.js";
import type { CommonOptions } from "./context.js";
import { registerDb } from "./db.js";
import { command, declareWhenNeeded } from "./declare.js";
import * as run from "./handlers.js";
import { registerHistory } from "./history.js";
import { requiredOption } from "./required-option.js";
import { registerServe } from "./serve.js";
import type { WatchOptions } from "./watch.js";
import { DEFAULT_WATCH_INTERVAL_MS, parseWatchInterval, parseWatchTimeout } from "./watch-options.js";

/** The commander program's commands: options and help text; the work is in handlers.ts and watch.ts. */
export function registerCommands(program: Command, setExitCode: (code: number) => void): void {
  const done = (code: number) => setExitCode(code);
  declareWhenNeeded(addCommonOptions(program));

  command(
    program,
    "init",
    "start a run (--epic names it): prints one line per agent, domain<TAB>agent-id",
    (init) =>
      requiredOption(init, "--domains <a,b,c>", "comma-separated domains, one agent each", parseDomainsOption)
        .option("--json", "print the run as JSON instead")
        .option("--force", "abandon a run that is still active here and start a new one")
        .option(
          "--stall-after <duration>",
          "show agents silent this long as stalled: 90s, 30m, 2h, 1d (default 15m)",
          parseStallAfterOption,
        )
        .option(
          "--max-cost <usd>",
          "the run's budget in US dollars, e.g. 25 (flags costs past 80%)",
          parseMaxCostOption,
        )
        .action(async (options) => done(await run.runInit(options))),
  );

  command(
    program,
    "add",
    "add agents to the active run: prints one line per agent, domain<TAB>agent-id",
    (add) =>
      requiredOption(add, "--domains <a,b>", "comma-separated domains, one agent each", parseDomainsOption)
        .option("--parent <agent>", "add them under this agent (id or domain): its files become their sums")
        .action(async (options) => done(await run.runAdd(options))),
  );

  command(program, "update <agent>", "report an agent's status, file counts and metrics", (update) =>
    metricOptions(
      requiredOption(
        update,
        "--status <status>",
        "pending, in_progress (or in-progress), completed or failed",
        parseStatusOption,
      ).option(
        "--files <done/total>",
        "files done and total, e.g. 3/7 (default: unchanged)",
        parseFilesOption,
      ),
    ).action(async (agent: string, options) => done(await run.runUpdate(agent, options))),
  );

  command(program, "complete <agent>", "mark an agent completed", (complete) =>
    metricOptions(complete.option("--summary <text>", "the agent's result summary")).action(
      async (agent: string, options) => done(await run.runComplete(agent, options)),
    ),
  );

  command(program, "fail <agent>", "mark an agent failed, with the reason shown on the issue", (fail) =>
    metricOptions(requiredOption(fail, "--error <text>", "why it failed")).action(
      async (agent: string, options) => done(await run.runFail(agent, options)),
    ),
  );

  command(program, "cancel <agent>", "mark an agent cancelled (it will do no more work)", (cancel) =>
    metricOptions(cancel.option("--reason <text>", "why, shown on the issue")).action(
      async (agent: string, options) => done(await run.runCancel(agent, options)),
    ),
  );

  command(
    program,
    "log <agent> <message>",
    "record an event in the agent's log (the comment shows the latest)",
    (log) =>
      log.action(async (agent: string, message: string, options: CommonOptions) =>
        done(await run.runLog(agent, message, options)),
      ),
  );

  command(program, "finalize", "retry the queue, then post the final summary (idempotent)", (finalize) =>
    finalize
      .option("--summary <text>", "the merge summary")
      .option("--summary-file <path>", "read the merge summary from a file (-: standard input)")
      .action(async (options) => done(await run.runFinalize(options))),
  );

  command(
    program,
    "retry",
    "retry the offline queue; exits 3 while posts remain to be sent or the database does not answer",
    (retry) =>
      retry
        .option("--dry-run", "list what would be sent, send nothing")
        .action(async (options) => done(await run.runRetry(options))),
  );

  command(
    program,
    "status",
    "show the run: a coloured table, --json, or --markdown (the comment body)",
    (status) =>
      status
        .option("--json", "print the run as JSON")
        .option("--markdown", "print the progress comment body")
        .action(async (options) => done(await run.runStatus(options))),
  );

  command(
    program,
    "watch",
    "live view of the run, redrawn on every change; plain lines when not a terminal; exits at finalize",
    (watch) =>
      watch
        .option(
          "--interval <ms>",
          "how often to read the run besides its change notifications (50 to 60000)",
          parseWatchInterval,
          DEFAULT_WATCH_INTERVAL_MS,
        )
        .option(
          "--timeout <s>",
          "stop (exit 0) after this many seconds if the run is still going",
          parseWatchTimeout,
        )
        // Loaded when used: file-system watching is no part of the per-event commands.
        .action(async (options: WatchOptions) => (await import("./watch.js")).watch(options)),
  );

  registerServe(program, done);
  registerHistory(program, done);
  registerDb(program, done);

  program
    .command("__flush", { hidden: true })
    .option("--standby", "stand by beside another machine's background writer")
    .action(async (options: CommonOptions) => done(await run.runFlush(options)));
}

/**
 * The agent's metrics, on update and on complete, fail and cancel (its last ones, such as what it cost
 * until it stopped: a cancelled agent takes no update).
 */
function metricOptions(command: Command): Command {
  return command
    .option("--iteration <i/max>", "iteration reached and the most allowed, e.g. 3/10", parseIterationOption)
    .option(
      "--criteria <verified/total>",
      "acceptance criteria verified and total, e.g. 4/6",
      parseCriteriaOption,
    )
    .option("--cost <usd>", "the agent's cost so far in US dollars, e.g. 1.25", parseCostOption);
}
