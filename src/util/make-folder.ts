import { dirname } from "node:path";
import type { FileSystem } from "./io.js";

/**
 * `mkdir -p` that always ends. Node's own (`recursive: true`, 20 to 24) loops for ever where the kernel
 * answers ENOENT under a folder that exists (procfs: `--dir /proc/1/x`), taking its "no parent" for one
 * to make; here a parent that exists makes the child's ENOENT final. One `mkdir` per missing level.
 */
export function makeFolder(fs: FileSystem, path: string): void {
  try {
    fs.mkdirSync(path);
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
    fs.mkdirSync(path);
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
