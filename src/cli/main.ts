import { runProgram } from "./program.js";

/**
 * The command line's entry (commander: every command, help and error). Exit codes: 0 done (GitHub trouble
 * included: warned and queued), 1 an internal bug, 2 the caller's mistake, 3 `retry` with posts queued.
 */
void runProgram(process.argv).then((code) => {
  process.exitCode = code;
});
