import { masked, messageLine, shownName } from "../config/show-value.js";
import { LockTimeoutError, QueueUnwritableError, StoreUnavailableError, UsageError } from "../errors.js";
import { redactText } from "../store/pg/config.js";

/**
 * The one place that maps a failure to an exit code and a message: the caller's mistake is one line and
 * exit 2; the machine's trouble (a database store that does not answer, a file-system error such as EACCES
 * or ENOSPC, or the run's lock held too long) is one line and exit 1;
 * anything else is a bug: the stack and exit 1. (GitHub trouble never gets here: it is warned about and
 * queued, exit 0.)
 * A one-line message stays one line: a value its text holds unquoted (a --dir path) is shown with its
 * invisible characters escaped, and a file-system error's path shortened (a name too long for the system).
 */
export function reportFailure(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`parallel-progress: error: ${messageLine(error.message)}\n`);
    return 2;
  }
  if (error instanceof StoreUnavailableError) {
    process.stderr.write(
      `parallel-progress: error: ${messageLine(error.message)}; try again when the database answers\n`,
    );
    return 1; // init, add, status, watch, serve, history, db: they cannot keep their work for later
  }
  if (
    error instanceof Error &&
    (typeof (error as NodeJS.ErrnoException).syscall === "string" ||
      error instanceof LockTimeoutError ||
      error instanceof QueueUnwritableError)
  ) {
    const path = (error as NodeJS.ErrnoException).path;
    const message =
      typeof path === "string" ? error.message.split(path).join(shownName(path)) : error.message;
    process.stderr.write(`parallel-progress: error: ${messageLine(message)}\n`);
    return 1;
  }
  // A bug's error is printed as it came (a database client's included): a URL in it shows no password.
  const detail = masked(redactText(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  process.stderr.write(`parallel-progress: internal error (please report it): ${detail}\n`);
  return 1;
}
