import { runProgram } from "./program.js";

/**
 * The command line's entry (commander: every command, help and error). Exit codes: 0 done (GitHub trouble
 * included: warned and queued), 1 an internal bug or the machine's trouble, 2 the caller's mistake, 3 `retry`
 * with posts queued or changes kept (a database store not answering is the machine's trouble: see exit.ts).
 */
void runProgram(process.argv).then((code) => {
  process.exitCode = code;
});
