import { basename, dirname, join } from "node:path";
import { asidePath, sweepTemporaryFiles, writeThenCommit } from "../store/atomic-write.js";
import { withLock } from "../store/lock.js";
import { RETRY_LOCK_MS, RETRY_LOCK_WAIT_MS, UNANSWERED_WINDOW_MS } from "../sync/timings.js";
import { ignoreInGit } from "../util/git-ignore.js";
import type { Clock, FileSystem } from "../util/io.js";
import { makeFolder } from "../util/make-folder.js";
import { QUEUE_FILE_PATTERN, queueFileName } from "./file-name.js";
import type { QueueEntry, QueueItem } from "./types.js";

const QUEUE_DIR = ".github_parallel_queue";

/** A queue file that could not be read as a queue item, moved aside as `<name>.corrupt`. */
export interface SetAside {
  name: string;
  movedTo: string;
  reason: string;
}

/**
 * The offline queue: one JSON file per undelivered post in `<epic>/.github_parallel_queue/`.
 * Files are created exclusively (a hard link from a finished temporary file), so concurrent processes
 * never overwrite each other and a reader never sees half a file.
 */
/** Temporary files of `add`: `.pending.<pid>.<random>.tmp`, swept by `sweep`. */
const PENDING = "pending";

/**
 * The largest queue file read. A body is at most 65,536 characters, 6 bytes each at worst in JSON
 * (`\u0001`): about 400 KB with the other fields.
 */
const MAX_FILE_BYTES = 1024 * 1024;

/** What to do about a queue folder that fails with these codes; others: its owner or mode. */
const FIX: Partial<Record<string, string>> = {
  ENOSPC: "its disk is full: free space on it",
  EDQUOT: "the disk quota of this user is used up: free space or raise the quota",
  EROFS: "its file system is mounted read-only: mount it writable",
};

export class OfflineQueue {
  readonly dir: string;

  /** The paths this queue object moved aside (told to `onSetAside`). */
  private readonly movedHere = new Set<string>();
  /** What `onTrouble` was told already: each once per queue object (one command). */
  private readonly told = new Set<string>();

  /**
   * `onSetAside`: told of each file this queue moves aside (not in a dry run), whichever listing did it (a
   * retry, or any write of the run that looks at the queue), so that none is moved in silence.
   * `onTrouble`: told (once each) that the queue folder could not be read or written (a folder of another
   * user, a read-only disk): the call goes on, as the run state still holds what the issue lacks.
   */
  constructor(
    private readonly fs: FileSystem,
    epicDir: string,
    private readonly clock: Clock,
    private readonly onSetAside?: (aside: SetAside) => void,
    private readonly onTrouble?: (message: string) => void,
  ) {
    this.dir = join(epicDir, QUEUE_DIR);
  }

  /**
   * Tells `onTrouble` of a failure of the queue folder (once per message); rethrows what is no I/O error.
   * `lacking`: the failure leaves something the issue lacks out of the queue (not so for a delivered entry).
   */
  private trouble(error: unknown, problem: string, consequence: string, lacking = true): void {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== "string") throw error;
    const held = lacking
      ? "; the run state still holds what the issue lacks, and later commands send it"
      : "";
    const message = `the offline queue ${this.dir} ${problem} (${code}): ${consequence}${held}; ${FIX[code] ?? "fix the folder's owner or mode"}`;
    if (this.told.has(message)) return;
    this.told.add(message);
    this.onTrouble?.(message);
  }

  /**
   * The queue's path when it is not a folder (a file of its name, committed by mistake, say): moved aside as
   * `.github_parallel_queue.corrupt` (not in a dry run) and reported. null when it is a folder or absent.
   */
  private async notAFolder(moveAside: boolean): Promise<SetAside | null> {
    const stat = await this.fs.promises.lstat(this.dir).catch(() => null);
    if (!stat || stat.isDirectory()) return null;
    const to = asidePath(this.fs, this.dir);
    const aside = { name: QUEUE_DIR, movedTo: basename(to), reason: "not a folder" };
    if (!moveAside) return aside;
    try {
      await this.fs.promises.rename(this.dir, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null; // moved by another process
      this.trouble(error, "is not a folder", "it could not be moved aside");
      return aside;
    }
    this.setAside(aside, to);
    return aside;
  }

  private setAside(aside: SetAside, path: string): void {
    this.movedHere.add(path);
    this.onSetAside?.(aside);
  }

  /** Removes temporary files that writers killed mid-add left behind (called when a run starts). */
  sweep(now: number): void {
    sweepTemporaryFiles(this.fs, join(this.dir, PENDING), now);
  }

  /**
   * Queues `item` and returns its file's name; null when the queue folder cannot be written (told to
   * `onTrouble`): the post is not queued, and the run state still holds it.
   */
  async add(item: QueueItem): Promise<string | null> {
    try {
      await this.notAFolder(true);
      makeFolder(this.fs, this.dir);
      ignoreInGit(this.fs, this.dir);
      return await this.write(item);
    } catch (error) {
      this.trouble(error, "cannot be written", "a post was not queued");
      return null;
    }
  }

  private write(item: QueueItem): Promise<string> {
    const data = `${JSON.stringify(item, null, 2)}\n`;
    return writeThenCommit(this.fs, join(this.dir, PENDING), data, 0o600, async (temporary) => {
      const now = this.clock.now();
      // Microseconds from the high-resolution clock, so one process's posts sort in the order made.
      const start = Number((process.hrtime.bigint() / 1000n) % 1000n);
      for (let tries = 0; ; tries++) {
        const micros = (start + tries) % 1000;
        const name = queueFileName(now + Math.floor((start + tries) / 1000), micros);
        try {
          await this.fs.promises.link(temporary, join(this.dir, name));
          return name;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST" || tries > 5000) throw error;
        }
      }
    });
  }

  /**
   * Every readable entry, oldest first; unreadable ones (not a valid entry, a file that cannot be read, or
   * a folder, link, pipe or huge file of a queue file's name) are moved aside as `<name>.corrupt` and
   * reported. `moveAside: false` (a dry run) reports them and moves nothing.
   */
  async list(
    options: { moveAside?: boolean } = {},
  ): Promise<{ entries: QueueEntry[]; setAside: SetAside[] }> {
    let names: string[];
    try {
      names = (await this.fs.promises.readdir(this.dir)).map(String);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { entries: [], setAside: [] };
      const aside = code === "ENOTDIR" ? await this.notAFolder(options.moveAside !== false) : null;
      if (aside) return { entries: [], setAside: [aside] };
      // Not readable (another user's folder): nothing in it can be sent or cleared by this process.
      this.trouble(error, "cannot be read", "its posts are neither sent nor counted");
      return { entries: [], setAside: [] };
    }
    const entries: QueueEntry[] = [];
    const setAside: SetAside[] = [];
    const queued = names.filter((n) => QUEUE_FILE_PATTERN.test(n)).sort();
    if (queued.length === 0) return { entries, setAside };
    // The schema (zod) only when there is a file to check: a failed write lists the queue too.
    const { validateItem } = await import("./item-schema.js");
    for (const name of queued) {
      let problem: QueueItem | string;
      try {
        const path = join(this.dir, name);
        problem =
          (await this.unreadable(path)) ?? validateItem(await this.fs.promises.readFile(path, "utf8"));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") continue; // delivered by another process
        // A file this process may not read is set aside; a passing failure (EMFILE, EIO, EBUSY) is the
        // machine's, not the file's: the entry stays for the next listing.
        if (code !== "EACCES" && code !== "EPERM" && code !== "EISDIR") throw error;
        problem = `cannot be read: ${code ?? String(error).split("\n", 1)[0]}`;
      }
      if (typeof problem === "string") {
        const aside = { name, movedTo: `${name}.corrupt`, reason: problem };
        if (options.moveAside !== false) {
          const moved = await this.fs.promises
            .rename(join(this.dir, name), join(this.dir, aside.movedTo))
            .then(
              () => true,
              (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? null : false),
            );
          if (moved === null) continue; // moved aside by another process, which says so
          if (moved) this.setAside(aside, join(this.dir, aside.movedTo));
        }
        setAside.push(aside);
      } else {
        entries.push({ name, item: problem });
      }
    }
    return { entries, setAside };
  }

  /**
   * Why the queue file at `path` is not read, or null when it may be: only a regular file of at most
   * MAX_FILE_BYTES is read. A link, a pipe (whose read would wait for a writer forever) or a huge file is
   * refused unread, so that nothing in the folder can hang or break the commands that list it.
   */
  private async unreadable(path: string): Promise<string | null> {
    const stat = await this.fs.promises.lstat(path);
    if (stat.isDirectory()) return "a folder, not a file";
    if (stat.isSymbolicLink()) return "a symbolic link, not a file";
    if (stat.isFIFO()) return "a named pipe, not a file";
    if (!stat.isFile()) return "not a regular file";
    if (stat.size > MAX_FILE_BYTES) return `${stat.size} bytes, more than a queue file's ${MAX_FILE_BYTES}`;
    return null;
  }

  /**
   * Runs `work` holding this machine's lock of the queue folder (a retry with no run whose lock it could
   * take), waiting up to `waitMs` (default a minute) for another holder (then LockTimeoutError); a holder
   * killed frees it after 15 s. No folder: nothing is queued, `work` runs as it is.
   */
  exclusive = async <T>(work: () => Promise<T>, waitMs = RETRY_LOCK_WAIT_MS): Promise<T> => {
    // No folder, or a file in its place (the listing moves it aside): nothing queued, nothing to lock.
    if (!(await this.fs.promises.lstat(this.dir).catch(() => null))?.isDirectory()) return work();
    const lock = { fs: this.fs, staleMs: RETRY_LOCK_MS, waitMs };
    let locked = false;
    try {
      return await withLock(join(this.dir, "retry.lock"), lock, () => {
        locked = true;
        return work();
      });
    } catch (error) {
      // A folder this process may not write: its entries cannot be cleared either, so each is looked up
      // on the issue before it is sent (by marker), as after any retry that stopped short.
      if (locked || (error as NodeJS.ErrnoException).code === undefined) throw error;
      this.trouble(error, "cannot be written", "retried without its lock");
      return work();
    }
  };

  /**
   * The files set aside in the queue folder (`*.corrupt`, and `.github_parallel_queue.corrupt` beside it)
   * but not by this queue object: moved by an earlier command or the background writer, whose warning may
   * have gone nowhere. They stay until deleted. By name only.
   */
  setAsideEarlier(): string[] {
    let names: string[];
    try {
      names = this.fs.readdirSync(this.dir).map(String);
    } catch {
      names = [];
    }
    const aside = names.filter((name) => name.endsWith(".corrupt")).map((name) => join(this.dir, name));
    // The queue folder's own, beside it (more than one when it happened again: asidePath), whatever they are
    // (a link included): the epic folder's names, read only by retry, finalize and status.
    const parent = dirname(this.dir);
    let beside: string[] = [];
    try {
      beside = this.fs.readdirSync(parent).map(String);
    } catch {
      // Not readable: nothing to say.
    }
    for (const name of beside) {
      if (name.startsWith(`${QUEUE_DIR}.`) && name.endsWith(".corrupt")) aside.push(join(parent, name));
    }
    return aside.filter((path) => !this.movedHere.has(path)).sort();
  }

  /** How many entries wait (by name only: nothing is read or moved). */
  count(): number {
    try {
      return this.fs.readdirSync(this.dir).filter((name) => QUEUE_FILE_PATTERN.test(String(name))).length;
    } catch {
      return 0;
    }
  }

  /**
   * Rewrites the entry `name` (atomically) as one whose create got no answer at `now`: it may still appear
   * until `now` + UNANSWERED_WINDOW_MS, and is looked up, never posted again, before then.
   */
  async markUnsure(name: string, item: QueueItem, now: number): Promise<void> {
    const unsure = {
      ...item,
      outcome_unknown: true,
      unsure_until: new Date(now + UNANSWERED_WINDOW_MS).toISOString(),
    };
    const path = join(this.dir, name);
    await writeThenCommit(this.fs, path, `${JSON.stringify(unsure, null, 2)}\n`, 0o600, (temporary) =>
      this.fs.promises.rename(temporary, path),
    ).catch((error: unknown) => this.trouble(error, "cannot be written", "an entry was not updated"));
  }

  /** Whether the entry `name` is still in the queue folder (another process may have sent and removed it). */
  has(name: string): boolean {
    return this.fs.existsSync(join(this.dir, name));
  }

  /**
   * Removes a delivered entry; false when it cannot be removed: it stays (told to `onTrouble`), and is
   * looked up on the issue before it is sent again.
   */
  async remove(name: string): Promise<boolean> {
    try {
      await this.fs.promises.rm(join(this.dir, name), { force: true });
      return true;
    } catch (error) {
      const stays =
        "a delivered entry could not be removed: it stays, counted as delivered, not as queued (the issue shows it)";
      this.trouble(error, "cannot be written", stays, false);
      return false;
    }
  }
}
