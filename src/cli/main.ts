import { reportFailure } from "./exit.js";
import { parseFastArgv } from "./fast-argv.js";
import { runFast } from "./fast-run.js";

/**
 * The command line's entry. The frequent per-event commands go through a small argv reader and straight
 * to their handler (start-up time is paid by every workflow event); everything else, and anything the
 * small reader does not accept, goes to the full commander program. Exit codes: 0 done (GitHub trouble
 * included: warned and queued), 1 an internal bug, 2 the caller's mistake, 3 `retry` with posts queued.
 */
async function main(argv: readonly string[]): Promise<number> {
  const fast = parseFastArgv(argv.slice(2));
  if (!fast) return (await import("./program.js")).runProgram(argv);
  try {
    return await runFast(fast);
  } catch (error) {
    return reportFailure(error);
  }
}

// The error classes, for the other CLI bundles: one definition, so `instanceof` holds across them.
export { GitHubError, StoreUnavailableError, UsageError } from "../errors.js";

// The other bundles require this one for the error classes and get its exports as they stand: nothing
// they need may be set up after this line.
void main(process.argv).then((code) => {
  process.exitCode = code;
  // Once nothing is left to do (output flushed included: the loop is empty), end at once. Node's orderly
  // teardown of the heap costs every call about a millisecond; the 'exit' handlers still run.
  // (`on`, not `once`: process.exit() ends it at the first call; `once` costs a little at every start.)
  process.on("beforeExit", () => process.exit());
});
