import { Command, CommanderError } from "commander";
import { registerCommands } from "./commands.js";
import { reportFailure } from "./exit.js";

declare const VERSION: string;

/** The full command line (commander): every command, help, version and argument errors. */
export async function runProgram(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  try {
    const program = new Command("parallel-progress")
      .description("Live progress of parallel agents as one markdown table on a GitHub issue")
      .version(typeof VERSION === "string" ? VERSION : "0.0.0")
      .exitOverride()
      .showSuggestionAfterError()
      .configureOutput({
        outputError: (message, write) =>
          write(`parallel-progress: error: ${message.replace(/^error: /, "").trim()}\n`),
      });
    registerCommands(program, (code) => {
      exitCode = code;
    });
    await program.parseAsync(argv as string[], { from: "node" });
    return exitCode;
  } catch (error) {
    // --help and --version end with 0; a usage error, or no command at all (help on stderr), with 2.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    return reportFailure(error);
  }
}
