/** The syncer's leases, claims and windows, in ms (on the store's clock unless said otherwise). */

/** How long a claimed background writer has to start and take its claim over (a process spawn). */
export const WRITER_START_MS = 10_000;
/** A running background writer's claim; it renews it while it lives. */
export const WRITER_CLAIM_MS = 15_000;
/** The default write lease: longer than the client's whole budget for one request (10 s). */
export const DEFAULT_LEASE_MS = 15_000;
/**
 * After a lease ran out unreleased, how long its holder's last request may still land: GitHub finishes a
 * request it received even when the client has given up on it (or died). A takeover's write made before
 * the old lease's expiry plus this is repeated after it.
 */
export const LATE_LANDING_MS = 5000;
/**
 * How long after the client gave up on a write that timed out GitHub may still apply it: GitHub ends any
 * API request it has not finished within 10 s (its documented server-side limit), plus the margin above
 * for the way there. The request was sent before the client gave up, so this is at least 15 s after it
 * was sent. An edit made before then is written once more after it; a create is not posted again before
 * it (see SyncState.unsureCreate).
 */
export const UNANSWERED_WINDOW_MS = 15_000;
/** The queue-retry lock (`sync.retryLock`): renewed every third of it while a retry works. */
export const RETRY_LOCK_MS = 15_000;
/** The longest a retry waits for another's retry lock before giving up (LockTimeoutError). */
export const RETRY_LOCK_WAIT_MS = 60_000;
/** A write starts with at least the lease minus this left on it (renewed before each request otherwise). */
export const RENEW_AFTER_MS = 1000;
/** The longest a background writer waits for a write to fall due (back-offs beyond it end its life). */
export const WRITER_MAX_WAIT_MS = 60_000;
/**
 * The furthest ahead of the store's clock a claim or window in the run state can be: every lease above
 * is taken or renewed for its length from now, and a request that may still land is waited for 15 s
 * (UNANSWERED_WINDOW_MS; a takeover's LATE_LANDING_MS counts from an expired lease). The store holds a
 * time further away to it (store/held-times.ts).
 */
export const LONGEST_CLAIM_MS = Math.max(
  DEFAULT_LEASE_MS,
  WRITER_START_MS,
  WRITER_CLAIM_MS,
  RETRY_LOCK_MS,
  LATE_LANDING_MS,
  UNANSWERED_WINDOW_MS,
);
