import lockfile from "proper-lockfile";
import type { FileSystem } from "../util/io.js";
import { sleep } from "../util/sleep.js";

export interface LockOptions {
  fs: FileSystem;
  /** How long a lock may go without its holder refreshing it before others take it over (holder killed). */
  staleMs?: number;
  /** The longest a caller waits for the lock before giving up. */
  waitMs?: number;
}

/** The lock could not be had in time: another process holds it. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

/** The calls proper-lockfile makes (sync and callback forms). */
const LOCK_CALLS = ["mkdir", "realpath", "stat", "rmdir", "utimes"] as const;

/**
 * Only the file-system calls proper-lockfile makes, bound to `fs`. proper-lockfile copies the fs it is
 * given with `{ ...fs }`; on Node's fs that reads every lazy getter (`ReadStream`, `promises`) and so
 * loads the streams and promises modules, over a millisecond at every CLI start.
 */
export function lockFs(fs: FileSystem): FileSystem {
  const calls: Record<string, unknown> = {};
  for (const name of LOCK_CALLS) {
    calls[name] = fs[name].bind(fs);
    calls[`${name}Sync`] = fs[`${name}Sync`].bind(fs);
  }
  return calls as unknown as FileSystem;
}

/**
 * Runs `work` while holding the cross-process lock `lockPath` (proper-lockfile: an atomic mkdir, kept
 * fresh while held, taken over once stale, so a holder killed with SIGKILL blocks others for at most
 * `staleMs`). Taking the lock is synchronous (proper-lockfile's sync API: no thread-pool round trips,
 * which matter at every CLI start); waiting for it is not. It guards the file store's transactions,
 * critical sections of milliseconds, never network calls: what is held across GitHub calls (the write
 * lease, the queue-retry lock) is a lease in the run state instead (src/sync/leases.ts).
 */
export async function withLock<T>(
  lockPath: string,
  options: LockOptions,
  work: () => Promise<T> | T,
): Promise<T> {
  const staleMs = options.staleMs ?? 3000;
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  let release: (() => void) | null = null;
  for (let attempt = 0; release === null; attempt++) {
    try {
      release = lockfile.lockSync(lockPath, {
        lockfilePath: lockPath,
        realpath: false,
        stale: staleMs,
        update: Math.max(1000, Math.floor(staleMs / 3)),
        fs: lockFs(options.fs),
        // Only when a holder stalls past `staleMs` inside a millisecond-long critical section; the
        // default handler would throw from a timer and kill the process. The atomic write still holds.
        onCompromised: () => undefined,
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      if (Date.now() >= deadline) {
        throw new LockTimeoutError(`could not lock ${lockPath} within ${options.waitMs ?? 15_000} ms`, {
          cause: error,
        });
      }
      // Short, growing, jittered waits: critical sections last milliseconds.
      await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
    }
  }
  try {
    return await work();
  } finally {
    try {
      release();
    } catch {
      // Already released or taken over: nothing left to undo.
    }
  }
}
