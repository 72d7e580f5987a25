import { Command, CommanderError } from "commander";
import { UsageError } from "../errors.js";
import { registerCommands } from "./commands.js";

/**
 * The command line: argv in, exit code out. The one place that maps errors to exit codes:
 * 0 done (GitHub trouble included: warned and queued), 2 the caller's mistake, 1 an internal bug,
 * 3 `retry` with posts still queued.
 */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command("parallel-progress")
    .description("Live progress of parallel agents as one markdown table on a GitHub issue")
    .version(VERSION)
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      outputError: (message, write) =>
        write(`parallel-progress: error: ${message.replace(/^error: /, "").trim()}\n`),
    });
  registerCommands(program, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv as string[], { from: "node" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
      if (error.code === "commander.help" || error.code === "commander.executeSubCommandAsync") return 0;
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`parallel-progress: error: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(
      `parallel-progress: internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

declare const VERSION: string;

const code = await main(process.argv);
process.exitCode = code;
