import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import type { FileSystem } from "../util/io.js";

/**
 * Writes `data` to `path` so that readers see either the old or the new content, never a part:
 * a temporary file in the same directory, then rename over the target (atomic on POSIX).
 * A process killed in between leaves only a stray temporary file, which `sweepTemporaryFiles` removes.
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: string): Promise<void> {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await fs.promises.writeFile(temporary, data, { encoding: "utf8", mode: 0o600 });
    await fs.promises.rename(temporary, path);
  } catch (error) {
    await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** Removes temporary files left by killed writers of `path` that are older than `olderThanMs`. */
export async function sweepTemporaryFiles(fs: FileSystem, path: string, now: number, olderThanMs = 60_000) {
  const directory = dirname(path);
  const prefix = `.${basename(path)}.`;
  const names = await fs.promises.readdir(directory).catch(() => [] as string[]);
  for (const name of names.map(String)) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const full = join(directory, name);
    const stat = await fs.promises.stat(full).catch(() => null);
    if (stat && now - stat.mtimeMs > olderThanMs)
      await fs.promises.rm(full, { force: true }).catch(() => undefined);
  }
}
