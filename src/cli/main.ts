import { runProgram } from "./program.js";
import { guardStandardStreams } from "./standard-streams.js";

/**
 * The error classes, for the bundles this one loads on demand: they import them from here, so that
 * there is one copy of each in a process and `instanceof` holds across bundles (scripts/build.mjs).
 */
export * from "../errors.js";

/**
 * The command line's entry (commander: every command, help and error). Exit codes: 0 done (GitHub trouble
 * included: warned and queued), 1 an internal bug or the machine's trouble, 2 the caller's mistake, 3 `retry`
 * with posts queued or changes kept (a database store not answering is the machine's trouble: see exit.ts).
 * stderr is best effort, and stdout that cannot be written (a full disk) is said and exit 1 (standard-streams.ts).
 */
export function main(): void {
  guardStandardStreams();
  void runProgram(process.argv).then((code) => {
    process.exitCode = code;
  });
}
