import { basename, dirname, join } from "node:path";
import type { FileSystem } from "../util/io.js";
import { randomHex } from "../util/random.js";

/**
 * Files are written whole beside their target first (`.<name>.<pid>.<random>.tmp`), then renamed or
 * linked into place, so readers never see a part. A process killed in between leaves only a stray
 * temporary file, which `sweepTemporaryFiles` removes.
 */
const temporaryPath = (path: string) =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${randomHex(8)}.tmp`);

/**
 * Writes `data` to `path` so that readers see either the old or the new content (rename over the target:
 * atomic on POSIX); false when `mayReplace` said no (nothing changed). Synchronous: the files are small
 * and this runs at every CLI start, where thread-pool round trips cost more.
 */
export function writeFileAtomicSync(
  fs: FileSystem,
  path: string,
  data: string,
  options: {
    /** Asked once the data is written, just before the rename: false leaves the target as it is. */
    mayReplace?: () => boolean;
    /** The new file's mode, less the umask; default 0o600 (the run's own files: the owner's alone). */
    mode?: number;
  } = {},
): boolean {
  const { mayReplace = () => true, mode = 0o600 } = options;
  const temporary = temporaryPath(path);
  try {
    fs.writeFileSync(temporary, data, { encoding: "utf8", mode });
    if (!mayReplace()) {
      fs.rmSync(temporary, { force: true });
      return false;
    }
    fs.renameSync(temporary, path);
    return true;
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes `data` to a temporary file beside `path` (mode `mode`), then lets `commit` put it in place (a
 * rename, an exclusive link); the temporary file is removed afterwards whatever happened.
 */
export async function writeThenCommit<T>(
  fs: FileSystem,
  path: string,
  data: string,
  mode: number,
  commit: (temporary: string) => Promise<T>,
): Promise<T> {
  const temporary = temporaryPath(path);
  try {
    await fs.promises.writeFile(temporary, data, { encoding: "utf8", mode });
    return await commit(temporary);
  } finally {
    await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
  }
}

/** Removes temporary files left by killed writers of `path` that are older than `olderThanMs`. */
export function sweepTemporaryFiles(fs: FileSystem, path: string, now: number, olderThanMs = 60_000): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dirname(path)).map(String);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const full = join(dirname(path), name);
    try {
      if (now - fs.statSync(full).mtimeMs > olderThanMs) fs.rmSync(full, { force: true });
    } catch {
      // Gone already.
    }
  }
}

/** Whether `path` names anything, a dangling symlink included (existsSync follows links). */
function entryExists(fs: FileSystem, path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where a file that cannot be read is moved aside: the first of `<path>.corrupt`, `<path>.2.corrupt`, …
 * that does not exist, so that a file set aside earlier (kept for a look) is never replaced.
 */
export function asidePath(fs: FileSystem, path: string): string {
  for (let n = 1; n <= 1000; n++) {
    const candidate = n === 1 ? `${path}.corrupt` : `${path}.${n}.corrupt`;
    if (!entryExists(fs, candidate)) return candidate;
  }
  return `${path}.${Date.now()}.corrupt`;
}
