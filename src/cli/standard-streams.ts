import { messageLine } from "../config/show-value.js";

/** What became of stdout (see guardStandardStreams). */
const stdout = {
  readerGone: false,
  failed: false,
  /** What the command had done that the output lost would have shown (`init`: the run was started). */
  done: null as string | null,
};

/**
 * The process's stdout and stderr, as the CLI uses them (main installs this once, before the command runs).
 *
 * stderr is best effort: a diagnostic that cannot be written (ENOSPC, EIO, EPIPE, EBADF: a full disk, a
 * closed pipe) is dropped, and the exit code stays the command's own. Unheard, Node made such a write an
 * uncaught exception, exit 1: a usage error's 2 became 1, and a change that was kept, with a warning due
 * (GitHub down), reported failure to a caller that may retry it.
 *
 * stdout: when its reader goes away (EPIPE: `status | head -1`), the rest of the data is dropped and the
 * command finishes its work as usual, exit code unchanged. Any other failure (ENOSPC: `> /dev/full`) is
 * the machine's trouble: one line on stderr, once, and exit 1 when the command ends (after its work:
 * a run started stays started, and the line says so).
 */
export function guardStandardStreams(): void {
  process.stderr.on("error", () => {});
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (stdout.readerGone || stdout.failed) return;
    if (error.code === "EPIPE") {
      stdout.readerGone = true;
      return;
    }
    stdout.failed = true;
    const done = stdout.done === null ? "" : `; ${stdout.done}`;
    process.stderr.write(
      `parallel-progress: error: could not write the output: ${messageLine(error.message)}${done}\n`,
    );
  });
  // At the end: a write's error is heard a tick or more after the write, after the command's code was set.
  process.once("exit", () => {
    if (stdout.failed) process.exitCode = 1;
  });
}

/**
 * Writes `text` to stdout, as a line, unless stdout takes no more (see guardStandardStreams). `done`: what
 * the command has done that this output shows (`the run was started (…)`), said if it cannot be written.
 */
export function writeData(text: string, done?: string): void {
  if (stdout.readerGone || stdout.failed) return;
  if (done !== undefined) stdout.done = done;
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}
