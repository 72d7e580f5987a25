import { UsageError } from "../errors.js";
import type { FileSystem } from "../util/io.js";
import { quote } from "./show-value.js";

/**
 * The epic directory names a directory, or a path not made yet (`init` makes it and its parents, as
 * `git init` does; the other calls find no run there). A file there, or on the way there (ENOTDIR), is
 * the caller's mistake, said before anything is done (`label`: `--dir`, or the library's parameter). One
 * stat. Other trouble (EACCES…) is left to the call, which meets it.
 */
export function checkEpicDir(fs: Pick<FileSystem, "statSync">, dir: string, label: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") return;
    isDirectory = false;
  }
  if (!isDirectory) throw new UsageError(`${label}: not a directory, got ${quote(dir)}`);
}
