/**
 * The process's stderr, as the CLI uses it (main installs this once, before the command runs).
 * stderr is best effort: a diagnostic that cannot be written (ENOSPC, EIO, EPIPE, EBADF: a full disk, a
 * closed pipe) is dropped, and the exit code stays the command's own. Unheard, Node made such a write an
 * uncaught exception, exit 1: a usage error's 2 became 1, and a change that was kept, with a warning due
 * (GitHub down), reported failure to a caller that may retry it.
 */
export function guardStandardStreams(): void {
  process.stderr.on("error", () => {});
}
