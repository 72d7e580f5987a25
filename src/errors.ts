/**
 * The kinds of failure. The CLI maps them to exit codes in one place (cli/exit.ts): UsageError → 2,
 * StoreUnavailableError → 1 (one line) where the command cannot keep its work, LockTimeoutError and
 * QueueUnwritableError → 1 (one line), anything else → 1. GitHub trouble never reaches the caller as an error: it becomes a warning and
 * a queued post (see GitHubError, used inside the github/ and sync/ layers).
 */

/** The caller's mistake: a bad option or value, an unknown agent, a broken task.md, no run. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A parent completed while some of its children are unfinished: a caller mistake, except for a change kept
 * while the store did not answer, which waits for its children's (kept on other machines, applied later).
 */
export class UnfinishedChildrenError extends UsageError {}

/**
 * A run's state file that cannot be read (bad JSON, or not what the schema says). `problem` is what is
 * wrong, without the advice the message adds (`init --force` sets the file aside and says so).
 */
export class UnreadableStateError extends UsageError {
  override name = "UnreadableStateError";
  constructor(
    readonly problem: string,
    advice: string,
    options?: { cause?: unknown },
  ) {
    super(`${problem}${advice}`, options);
  }
}

/** The kinds of GitHub trouble, each with its own advice. */
export type GitHubErrorKind =
  | "auth" // 401: bad or missing credentials
  | "forbidden" // 403 that is not a rate limit: missing scope, locked issue, archived repository
  | "not-found" // 404: issue, repository or comment missing (or invisible to the token)
  | "validation" // 422: body rejected (for example too long)
  | "rate-limited" // 403/429 with rate-limit headers
  | "server" // 5xx
  | "network" // connection refused, reset, DNS
  | "timeout" // no answer within the request budget
  | "unsettled"; // not created yet: an earlier create got no answer and may still appear (until retryAt)

/** GitHub trouble, already explained for humans. Never carries a token or a request object. */
export class GitHubError extends Error {
  override name = "GitHubError";
  readonly kind: GitHubErrorKind;
  readonly status: number | null;
  /** Epoch ms before which GitHub asked us not to come back (rate limits). */
  readonly retryAt: number | null;
  /** True when a write may have reached GitHub although no answer came back. */
  readonly outcomeUnknown: boolean;
  /**
   * True for a problem of this process alone, found before any request (no token here, a call configured
   * for another GitHub API than the run's): the run is not backed off for it, as another process may write.
   */
  readonly local: boolean;
  constructor(
    message: string,
    details: {
      kind: GitHubErrorKind;
      status?: number | null;
      retryAt?: number | null;
      outcomeUnknown?: boolean;
      local?: boolean;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.kind = details.kind;
    this.status = details.status ?? null;
    this.retryAt = details.retryAt ?? null;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
    this.local = details.local ?? false;
  }

  /** Worth trying again later with the same credentials. */
  get transient(): boolean {
    return (
      this.kind === "server" ||
      this.kind === "network" ||
      this.kind === "timeout" ||
      this.kind === "unsettled" ||
      this.kind === "rate-limited"
    );
  }
}

/**
 * The shared run store (a database) is set up wrongly for this call: a wrong password, a missing
 * database, no permission, TLS refused. The caller's mistake (exit 2), and no change's fault: a change
 * kept while the database was down stays kept.
 */
export class StoreConfigError extends UsageError {
  override name = "StoreConfigError";
}

/**
 * The shared run store (a database) is down, unreachable, restarting, or timed out: worth trying again
 * later. An agent's change and finalize are kept on the machine's disk (exit 0, a warning); retry exits 3;
 * a command that cannot keep its work exits 1 in one line.
 */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The offline queue folder could not be written where a post had to be kept before going on: an `init`
 * replacing a finalized run whose final summary (or latest table) the issue lacks refuses rather than
 * replace the run with nothing keeping its posts. The run is untouched (the CLI exits 1 in one line).
 */
export class QueueUnwritableError extends Error {
  override name = "QueueUnwritableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A lock of the run was not had in time because another process held it all along: the file store's lock
 * (15 s), the queue folder's retry lock (60 s), or another retry's of the run (60 s). Worth trying again
 * later. Not a StoreUnavailableError: the store answered, another process kept it busy (the CLI exits 1
 * in one line; it does not keep the change on disk, as it does while a database is down).
 */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
