import { basename, dirname, join } from "node:path";
import type { FileSystem } from "../util/io.js";
import { randomHex } from "../util/random.js";

/**
 * Writes `data` to `path` so that readers see either the old or the new content, never a part:
 * a temporary file in the same directory, then rename over the target (atomic on POSIX). Synchronous:
 * the files are small and this runs at every CLI start, where thread-pool round trips cost more.
 * A process killed in between leaves only a stray temporary file, which `sweepTemporaryFiles` removes.
 */
export function writeFileAtomicSync(fs: FileSystem, path: string, data: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomHex(8)}.tmp`);
  try {
    fs.writeFileSync(temporary, data, { encoding: "utf8", mode: 0o600 });
    fs.renameSync(temporary, path);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
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
