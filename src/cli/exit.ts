import { StoreUnavailableError, UsageError } from "../errors.js";

/**
 * A database store that does not answer, for a command that can neither keep its work for later nor
 * wait (`init`, `add`, `status`, `watch`, `serve`, `history`, `db`): "try again later", sysexits.h's
 * EX_TEMPFAIL, so that a script tells it from a bug (1) and from its own mistake (2).
 */
export const EXIT_STORE_UNAVAILABLE = 75;

/**
 * The one place that maps a failure to an exit code and a message: the caller's mistake is one line and
 * exit 2; a database store that does not answer is one line and exit 75; the machine's trouble (a
 * file-system error such as EACCES or ENOSPC, or the run's lock held too long) is one line and exit 1;
 * anything else is a bug: the stack and exit 1. (GitHub trouble never gets here: it is warned about and
 * queued, exit 0.)
 */
export function reportFailure(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`parallel-progress: error: ${error.message}\n`);
    return 2;
  }
  if (error instanceof StoreUnavailableError) {
    process.stderr.write(`parallel-progress: error: ${error.message}; try again when the database answers\n`);
    return EXIT_STORE_UNAVAILABLE;
  }
  if (
    error instanceof Error &&
    (typeof (error as NodeJS.ErrnoException).syscall === "string" || error.name === "LockTimeoutError")
  ) {
    process.stderr.write(`parallel-progress: error: ${error.message}\n`);
    return 1;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`parallel-progress: internal error (please report it): ${detail}\n`);
  return 1;
}
