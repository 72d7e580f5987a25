import { dirname } from "node:path";
import type { FileSystem } from "./io.js";

/**
 * The mode of every folder the tool makes (the state, queue and pending folders, their locks), less the
 * umask: never writable by another user, whatever the umask (under umask 000 a folder made with Node's
 * default 0o777 was, and any local user could then block the run with a lock of their own, or move its
 * state away). Readable by all, as git run by another user (the tool as root in a container, git as the
 * runner) must read the folder's .gitignore, or it warns on every command that it cannot open the folder;
 * the files in it are the owner's alone (0o600). A stricter umask (077) makes it 0o700.
 */
export const FOLDER_MODE = 0o755;

/**
 * `mkdir -p` that always ends, each folder it makes made with FOLDER_MODE (one that exists is left as it
 * is). Node's own (`recursive: true`, 20 to 24) loops for ever where the kernel answers ENOENT under a
 * folder that exists (procfs: `--dir /proc/1/x`), taking its "no parent" for one to make; here a parent
 * that exists makes the child's ENOENT final. One `mkdir` per missing level.
 */
export function makeFolder(fs: FileSystem, path: string): void {
  try {
    fs.mkdirSync(path, { mode: FOLDER_MODE });
    return;
  } catch (error) {
    if (isFolderAlready(fs, path, error)) return;
    const parent = dirname(path);
    if (codeOf(error) !== "ENOENT" || parent === path) throw error;
    try {
      makeFolder(fs, parent);
    } catch (parentError) {
      // A parent there that is no folder (a dangling symlink): the child's ENOENT, as Node's own says.
      throw codeOf(parentError) === "EEXIST" ? error : parentError;
    }
  }
  try {
    fs.mkdirSync(path, { mode: FOLDER_MODE });
  } catch (error) {
    // Made by another process meanwhile; any other answer, ENOENT included, is the folder's last word.
    if (!isFolderAlready(fs, path, error)) throw error;
  }
}

/** `error` says `path` exists, and it is a folder (a file there is an error, as with `mkdir -p`). */
function isFolderAlready(fs: FileSystem, path: string, error: unknown): boolean {
  if (codeOf(error) !== "EEXIST") return false;
  try {
    return fs.statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;
