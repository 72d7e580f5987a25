import { join, resolve, sep } from "node:path";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../util/io.js";
import { quote } from "./show-value.js";

/**
 * The longest name a common file system takes (NAME_MAX: 255 bytes on ext4, XFS, Btrfs, APFS and ZFS):
 * a longer one in the path cannot be made, whether its parents exist yet or not.
 */
const NAME_MAX_BYTES = 255;

/**
 * A path as deep as the deepest the tool makes inside an epic directory (a temporary file beside a kept
 * change, `.parallel-progress/pending/.change_….json.<pid>.<random>.tmp`, is about 90 characters), with
 * room to spare: an epic directory whose path leaves no room for it is refused at once, before a call
 * writes half of its files.
 */
const DEEPEST = join(".parallel-progress", "pending", "x".repeat(100));

const code = (error: unknown) => (error as NodeJS.ErrnoException).code;

/**
 * The epic directory names a directory, or a path not made yet (`init` makes it and its parents, as
 * `git init` does; the other calls find no run there). A file there, or on the way there (ENOTDIR), and a
 * path too long for the system (a name longer than a file system takes, or a path that leaves no room for
 * the tool's files inside it: ENAMETOOLONG) and a NUL character are the caller's mistake, said before anything is done
 * (`label`: `--dir`, or the library's parameter). Two stats. Other trouble (EACCES…) is left to the call,
 * which meets it.
 */
export function checkEpicDir(fs: Pick<FileSystem, "statSync">, dir: string, label: string): void {
  const tooLong = (what: string) => new UsageError(`${label}: ${what}, got ${quote(dir)}`);
  // No file system takes a NUL in a name (Node throws a TypeError for one).
  if (dir.includes("\0"))
    throw new UsageError(`${label}: a path cannot hold a NUL character, got ${quote(dir)}`);
  if (dir.split(sep === "\\" ? /[\\/]/ : "/").some((name) => Buffer.byteLength(name) > NAME_MAX_BYTES)) {
    throw tooLong(`a name in the path is longer than ${NAME_MAX_BYTES} bytes`);
  }
  let isDirectory: boolean;
  try {
    isDirectory = fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? true;
  } catch (error) {
    if (code(error) === "ENAMETOOLONG") throw tooLong("path too long for this system (ENAMETOOLONG)");
    if (code(error) !== "ENOTDIR") return;
    isDirectory = false;
  }
  if (!isDirectory) throw new UsageError(`${label}: not a directory, got ${quote(dir)}`);
  try {
    fs.statSync(join(resolve(dir), DEEPEST), { throwIfNoEntry: false });
  } catch (error) {
    if (code(error) === "ENAMETOOLONG") {
      throw tooLong("path too long for this system to hold the run's files (ENAMETOOLONG)");
    }
  }
}
