import { LockTimeoutError } from "../errors.js";
import type { FileSystem } from "../util/io.js";
import { FOLDER_MODE } from "../util/make-folder.js";
import { sleep } from "../util/sleep.js";

interface LockOptions {
  fs: FileSystem;
  /** How long a lock may go without its holder refreshing it before others take it over (holder killed). */
  staleMs?: number;
  /** The longest a caller waits for the lock before giving up. */
  waitMs?: number;
}

/**
 * Runs `work` while holding the cross-process lock `lockPath`: a directory made with an atomic mkdir,
 * its mtime kept fresh while held, taken over once stale, so a holder killed with SIGKILL blocks others
 * for at most `staleMs`. Our own few lines rather than proper-lockfile, which is the same mkdir lock but
 * loads graceful-fs (it patches fs), signal-exit and retry: measured 4-5 ms of every CLI start on Node 20.
 * Taking the lock is synchronous (no thread-pool round trips at every start); waiting for it is not. It
 * guards the file store's transactions, critical sections of milliseconds, never network calls: what is
 * held across GitHub calls (the write lease, the queue-retry lock) is a lease in the run state
 * (src/sync/leases.ts).
 */
export async function withLock<T>(
  lockPath: string,
  options: LockOptions,
  work: (stillHeld: () => boolean) => Promise<T> | T,
): Promise<T> {
  const { fs } = options;
  const staleMs = options.staleMs ?? 3000;
  const waitMs = options.waitMs ?? 15_000;
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; !tryLock(fs, lockPath, staleMs); attempt++) {
    if (Date.now() >= deadline) throw new LockTimeoutError(`could not lock ${lockPath} within ${waitMs} ms`);
    // Short, growing, jittered waits: critical sections last milliseconds.
    await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
  }
  // Which lock folder is ours: a holder stalled past `staleMs` (stopped, swapped out) finds it taken over.
  const ours = lockIdentity(fs, lockPath);
  const stillHeld = () => ours !== null && lockIdentity(fs, lockPath) === ours;
  let refresh: NodeJS.Timeout | undefined;
  try {
    const result = work(stillHeld);
    // Work done synchronously (the usual change of the file store) ends before any timer could fire.
    if (!(result instanceof Promise)) return result;
    // A holder that waits (a loaded machine) keeps its lock fresh, so it is not taken for a dead one.
    refresh = setInterval(() => touch(fs, lockPath), Math.max(10, Math.floor(staleMs / 3)));
    refresh.unref();
    return await result;
  } finally {
    clearInterval(refresh);
    // Taken over after a stall past `staleMs`: the folder is the other holder's now, left to it.
    if (stillHeld()) {
      try {
        fs.rmdirSync(lockPath);
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

/**
 * The lock folder's identity (its inode and birth time), null when there is none: a folder made in its
 * place after a takeover is another one (an inode number may be reused; the birth time then tells them
 * apart where the file system keeps one; the file store's commit checks the state file itself too).
 */
function lockIdentity(fs: FileSystem, lockPath: string): string | null {
  try {
    const stat = fs.statSync(lockPath);
    return `${stat.ino}:${stat.birthtimeMs}`;
  } catch {
    return null;
  }
}

/** One attempt at the lock: true when it is ours. Throws what is not "held by another" (ENOENT: no folder). */
export function tryLock(fs: FileSystem, lockPath: string, staleMs: number): boolean {
  if (makeDir(fs, lockPath)) return true;
  if (!isStale(fs, lockPath, staleMs)) return false;
  // Its holder died. The takeover is guarded by a second mkdir, so that of two processes seeing the same
  // stale lock only one removes it, and never the fresh lock the other has just made in its place.
  const guard = `${lockPath}.takeover`;
  if (!makeDir(fs, guard)) {
    // A taker killed in its few microseconds between the two mkdirs leaves the guard: cleared once stale.
    if (isStale(fs, guard, staleMs)) removeDir(fs, guard);
    return false;
  }
  try {
    if (!isStale(fs, lockPath, staleMs) || !removeDir(fs, lockPath)) return false;
    // Another process may have made the lock between the rmdir and this mkdir: then it is theirs.
    return makeDir(fs, lockPath);
  } finally {
    removeDir(fs, guard);
  }
}

/** mkdir: true when made, false when it exists. */
function makeDir(fs: FileSystem, path: string): boolean {
  try {
    fs.mkdirSync(path, { mode: FOLDER_MODE });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

/** rmdir: true when removed, false when already gone. */
function removeDir(fs: FileSystem, path: string): boolean {
  try {
    fs.rmdirSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/**
 * Not refreshed for longer than `staleMs`, or dated more than `staleMs` ahead of the clock: its holder was
 * killed before the clock stepped back, or the folder came from a machine whose clock is ahead, and it
 * would otherwise hold everyone off until the clock caught up. A live holder marks it again within
 * staleMs / 3 on its own clock, this one's; taken over in that moment after a step back, it finds its
 * lock gone, as after a stall (see withLock). A gone lock is not stale: the next mkdir takes it.
 */
function isStale(fs: FileSystem, path: string, staleMs: number): boolean {
  try {
    return Math.abs(Date.now() - fs.statSync(path).mtimeMs) > staleMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/** Marks the lock at `path` as held now (a holder alive); nothing when it is gone. */
export function touch(fs: FileSystem, path: string): void {
  const now = new Date();
  try {
    fs.utimesSync(path, now, now);
  } catch {
    // Released meanwhile, or taken over: nothing to refresh.
  }
}
