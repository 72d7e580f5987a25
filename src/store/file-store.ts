import type { FSWatcher, Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { LockTimeoutError, UnreadableStateError } from "../errors.js";
import type { RunState } from "../model/types.js";
import { ignoreInGit } from "../util/git-ignore.js";
import { type Clock, type FileSystem, systemClock } from "../util/io.js";
import { makeFolder } from "../util/make-folder.js";
import { asidePath, sweepTemporaryFiles, writeFileAtomicSync } from "./atomic-write.js";
import { onTimesHeld, withTimesHeld } from "./held-times.js";
import { withLock } from "./lock.js";
import { FIX_OR_FORCE, FORCE, stateToText, trustedState } from "./state-text.js";
import { guardListener } from "./subscriber.js";
import type { RunStore, Transition } from "./types.js";

/** The folder inside the epic directory that holds the run state and its lock. */
export const STATE_DIR = ".parallel-progress";
const STATE_FILE = "state.json";

export function statePaths(epicDir: string) {
  const dir = join(epicDir, STATE_DIR);
  return { dir, state: join(dir, STATE_FILE), lock: join(dir, "state.lock") };
}

interface FileStoreOptions {
  /** The store's clock: the `now` of every transaction (default: Date.now). */
  clock?: Clock;
  /** How long the state lock may go unrefreshed before others take it over (its holder was killed). */
  lockStaleMs?: number;
}

/**
 * The run state as one JSON file in `<epic>/.parallel-progress/state.json`, changed only under the
 * cross-process lock and replaced atomically, so concurrent processes lose no change and a process
 * killed at any instant leaves the previous or the next state, never a torn one. The atomic rename is
 * also the change notification: subscribers watch the folder (fs.watch, inotify on Linux).
 */
export class FileRunStore implements RunStore {
  readonly paths: ReturnType<typeof statePaths>;
  readonly location: string;
  private readonly clock: Clock;
  private readonly lockStaleMs: number;
  /** How to stop each subscription (close() stops them all). */
  private readonly subscriptions = new Set<() => void>();

  constructor(
    private readonly fs: FileSystem,
    epicDir: string,
    options: FileStoreOptions = {},
  ) {
    this.paths = statePaths(epicDir);
    this.location = this.paths.state;
    this.clock = options.clock ?? systemClock;
    this.lockStaleMs = options.lockStaleMs ?? 3000;
  }

  async read(): Promise<RunState | null> {
    const state = await this.readState();
    return state && withTimesHeld(state, this.clock.now());
  }

  /**
   * Watches the state folder; the atomic rename onto state.json is the signal (the temporary file's and
   * the lock's events are not). The folder is followed from the epic directory, which is watched too: a
   * folder made after the subscription (by `init`), or removed and made again, is watched anew. The epic
   * directory removed (`rm -rf`, `git clean`), or removed and made again before its watch heard it, ends
   * its watch: it is then looked for every half second
   * (fs.watch cannot wait for a path to appear) and watched again once made. A subscription makes
   * nothing: following a directory leaves nothing behind in it. Rejects (ENOENT) when the epic directory
   * is missing when it starts. A listener that throws does not stop it (guardListener).
   */
  async subscribe(given: () => void): Promise<() => Promise<void>> {
    const listener = guardListener(given);
    const epicDir = dirname(this.paths.dir);
    let folder: FSWatcher | null = null;
    let parent: FSWatcher | null = null;
    let lookFor: NodeJS.Timeout | null = null;
    /** Watches the state folder for state.json (false: there is no folder now). */
    const watchFolder = (): boolean => {
      folder?.close();
      folder = null;
      try {
        const watcher = this.fs.watch(this.paths.dir, (_event, file) => {
          if (file === null || String(file) === STATE_FILE) listener();
        });
        // The folder removed: this watch sees nothing more; the epic directory's watch sees it come back.
        watcher.on("error", () => watcher.close());
        folder = watcher;
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
        throw error;
      }
    };
    /** The epic directory gone: its run is gone (one call), and it is looked for until it is back. */
    const lost = () => {
      parent?.close();
      parent = null;
      folder?.close();
      folder = null;
      listener();
      lookFor ??= setInterval(() => {
        if (!watchEpicDir()) return;
        clearInterval(lookFor!);
        lookFor = null;
        watchFolder();
        listener(); // a run written before the new watch began
      }, 500);
      lookFor.unref();
    };
    /** Watches the epic directory for the state folder (false: there is no directory now, and `missing`). */
    const watchEpicDir = (missing: "false" | "throw" = "false"): boolean => {
      try {
        // The state folder made (init) or removed and made again: watched anew, and one call, for a
        // state written before the new watch began.
        const watcher = this.fs.watch(epicDir, (_event, name) => {
          // Removed, or removed and made again before this event came (an event naming the directory
          // itself: inode numbers are reused at once): this watch is on the old directory.
          if (!this.fs.existsSync(epicDir) || (name !== null && String(name) === basename(epicDir)))
            return lost();
          if (name !== null && String(name) !== STATE_DIR) return;
          if (watchFolder()) listener();
        });
        watcher.on("error", lost);
        parent = watcher;
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT" && missing === "false") return false;
        throw error;
      }
    };
    const stop = () => {
      if (lookFor) clearInterval(lookFor);
      lookFor = null;
      parent?.close();
      folder?.close();
    };
    watchEpicDir("throw");
    try {
      watchFolder();
    } catch (error) {
      stop();
      throw error;
    }
    this.subscriptions.add(stop);
    return async () => {
      stop();
      this.subscriptions.delete(stop);
    };
  }

  async close(): Promise<void> {
    for (const stop of this.subscriptions) stop();
    this.subscriptions.clear();
  }

  /**
   * For `init --force`: a state file that cannot be read (bad JSON, or not what the schema says) is moved
   * aside as `state.json.corrupt`, kept for a look, so a new run can start. Returns why it was, or null.
   */
  async setAsideUnreadable(): Promise<{ problem: string; movedTo: string } | null> {
    const { fs, paths } = this;
    const setAside = () =>
      withLock(paths.lock, { fs, staleMs: this.lockStaleMs }, async (stillHeld) => {
        const stat = statOrNull(fs, paths.state);
        const read = identityOf(stat);
        try {
          await this.readState(stat);
          return null;
        } catch (error) {
          if (!(error instanceof UnreadableStateError)) throw error;
          // As a change commits (transact): only while the lock is its own and state.json the file it read.
          if (!stillHeld() || identityOf(statOrNull(fs, paths.state)) !== read) return TAKEN_OVER;
          const aside = asidePath(fs, paths.state);
          fs.renameSync(paths.state, aside);
          return { problem: error.problem, movedTo: basename(aside) };
        }
      });
    // No folder yet: nothing to set aside (and no lock file to make).
    return fs.existsSync(paths.dir) ? untilNotTakenOver(setAside, paths.lock) : null;
  }

  /**
   * Small files, read and written synchronously: cheaper than thread-pool round trips at every start.
   * A file this store wrote as it is is trusted, and returned at once; any other is checked against the
   * schema (state-text.ts), which is loaded on demand: a promise then.
   */
  private readState(
    stat = statOrNull(this.fs, this.paths.state),
  ): RunState | null | Promise<RunState | null> {
    const path = this.paths.state;
    if (stat === null) return null;
    let text: string;
    try {
      // Only a file of a run state's size is read: a folder fails, a named pipe would wait for a writer
      // for ever, and a huge file exhaust the memory (init --force sets each aside).
      if (!stat.isFile()) {
        const what = stat.isDirectory() ? "a folder" : stat.isFIFO() ? "a named pipe" : "not a regular file";
        throw new UnreadableStateError(`${path} is ${what}, not a run state file`, FORCE);
      }
      if (stat.size > MAX_STATE_BYTES) {
        throw new UnreadableStateError(
          `${path} is ${stat.size} bytes, more than a run state holds (${MAX_STATE_BYTES / 1024 / 1024} MiB)`,
          FORCE,
        );
      }
      text = this.fs.readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    return trustedState(text) ?? parseState(text, this.paths.state);
  }

  async transact<T>(given: (current: RunState | null, now: number) => Transition<T>): Promise<T> {
    const { fs, paths } = this;
    const change = onTimesHeld(given);
    /** `current` changed as `change` says; `mayCommit`: whether the state read is still the lock's (see below). */
    const write = (current: RunState | null, mayCommit: () => boolean): T | typeof TAKEN_OVER => {
      const now = this.clock.now();
      const { next, result } = change(current, now);
      if (next === undefined) return result;
      // A new run: temporary files that writers killed mid-write left behind are swept once.
      if (next.runId !== current?.runId) {
        sweepTemporaryFiles(fs, paths.state, now);
        ignoreInGit(fs, paths.dir);
      }
      return writeFileAtomicSync(fs, paths.state, stateToText(next), { mayReplace: mayCommit })
        ? result
        : TAKEN_OVER;
    };
    // A trusted state is changed synchronously, the lock held for no timer or tick. A holder stalled past
    // the lock's staleness (stopped, swapped out, a paused container) is taken over, and its change, made
    // on what it read, would overwrite what the next holder committed: it commits only while the lock is
    // still its own and state.json is the file it read (a commit replaces it), and else makes its change
    // again on the state as it is now.
    const locked = () =>
      withLock(paths.lock, { fs, staleMs: this.lockStaleMs }, (stillHeld) => {
        // One stat for both: what the state file is, and whether the one read is still there at the commit.
        const stat = statOrNull(fs, paths.state);
        const read = identityOf(stat);
        const mayCommit = () => stillHeld() && identityOf(statOrNull(fs, paths.state)) === read;
        const current = this.readState(stat);
        return current instanceof Promise
          ? current.then((state) => write(state, mayCommit))
          : write(current, mayCommit);
      });
    const committed = () => untilNotTakenOver(locked, paths.lock);
    try {
      return await committed();
    } catch (error) {
      // The state folder is made when it is found missing, not checked at every change (two system calls
      // fewer per call); and only for a change that creates a state (init), so that a command refused
      // for want of a run leaves no folder behind. `change` is pure: asking it first is safe. A folder
      // made meanwhile (by a change that started with this one: two inits at once) is taken as it is.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      if (!this.fs.existsSync(this.paths.dir)) {
        const withoutState = change(null, this.clock.now()); // no folder, so no state
        if (withoutState.next === undefined) return withoutState.result;
        this.makeFolder();
      }
      return committed();
    }
  }

  /** The state folder, kept out of git (its `.gitignore` is written as it is made). */
  private makeFolder(): void {
    if (this.fs.existsSync(this.paths.dir)) return;
    makeFolder(this.fs, this.paths.dir);
    ignoreInGit(this.fs, this.paths.dir);
  }
}

/**
 * The largest state file read: a run of 10,000 agents with their events is a few MiB; a bigger file is
 * not one this tool wrote.
 */
const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** A change not committed: the lock was taken over while its holder stalled (see transact). */
const TAKEN_OVER = Symbol("taken over");

/** How many times a change is made again after its lock was taken over, before it gives up. */
const TAKEOVER_RETRIES = 5;

/** `work` under `lock` again while its lock was taken over from it (TAKEN_OVER), TAKEOVER_RETRIES times at most. */
async function untilNotTakenOver<T>(work: () => Promise<T | typeof TAKEN_OVER>, lock: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await work();
    if (outcome !== TAKEN_OVER) return outcome;
    if (attempt === TAKEOVER_RETRIES) {
      throw new LockTimeoutError(
        `${lock} was taken over from this process ${attempt} times (stalled while it held it): nothing changed`,
      );
    }
  }
}

/** The file's stat; null when there is none (other errors are thrown). */
function statOrNull(fs: FileSystem, path: string): Stats | null {
  try {
    return fs.statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * A file's identity: an atomic write replaces it (a new inode; its number may be reused, its mtime and
 * size then tell them apart). null: there is none.
 */
function identityOf(stat: Stats | null): string | null {
  return stat === null ? null : `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
}

/** A state file not written by this store as it is: parsed, then checked against the schema (one-line UsageError). */
async function parseState(text: string, path: string): Promise<RunState> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UnreadableStateError(`${path} is not valid JSON`, FIX_OR_FORCE, { cause: error });
  }
  if (typeof value !== "object" || value === null || (value as { version?: unknown }).version !== 1) {
    throw new UnreadableStateError(`${path} is not a parallel-progress state of version 1`, FORCE);
  }
  // A checksum that no longer holds (the file was edited) is not part of the state.
  delete (value as { checksum?: unknown }).checksum;
  const { validateRunState } = await import("./state-schema.js");
  return withDefaults(validateRunState(value, path));
}

/** Brings a state written by an older version up to date (the schema has filled the plain defaults). */
function withDefaults(state: RunState): RunState {
  // Kept per machine now (task-file.json in --dir); older versions stored it in the shared state.
  delete (state as { taskFile?: unknown }).taskFile;
  // A background writer recorded by an older version (a pid, no expiry): void, as if it had expired.
  if (state.sync.flusher && typeof state.sync.flusher.expiresAt !== "number") state.sync.flusher = null;
  if (state.sync.lease && typeof state.sync.lease.expiresAt !== "number") state.sync.lease = null;
  return state;
}
