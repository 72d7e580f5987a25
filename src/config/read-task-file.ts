import { join } from "node:path";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../util/io.js";
import { utf16Mark } from "../util/utf16.js";
import type { TaskSettings } from "./task-file.js";

const TASK_FILE_NAME = "task.md";
/** The largest task.md read (64 MiB): its settings are a few lines; the rest is the epic's notes. */
const MAX_TASK_FILE_BYTES = 64 * 1024 * 1024;

/** What is needed to tell whether a cached parse of task.md is still valid. */
export interface TaskFileStat {
  mtimeMs: number;
  size: number;
}

interface TaskFile extends TaskFileStat {
  path: string;
  text: string;
  settings: TaskSettings;
}

/**
 * One stat of `<epicDir>/task.md`; null when there is none. Lets callers skip parsing an unchanged file.
 * Synchronous: one cheap call at every command.
 */
export function statTaskFile(fs: FileSystem, epicDir: string): TaskFileStat | null {
  try {
    const stat = fs.statSync(join(epicDir, TASK_FILE_NAME));
    return { mtimeMs: Number(stat.mtimeMs), size: Number(stat.size) };
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * Reads and parses `<epicDir>/task.md`; null when there is none. The stat is taken before the read,
 * so a file changed meanwhile looks changed to the next `statTaskFile` and is parsed again.
 * Throws a UsageError for a task.md that cannot be read or parsed.
 */
export async function readTaskFile(fs: FileSystem, epicDir: string): Promise<TaskFile | null> {
  const path = join(epicDir, TASK_FILE_NAME);
  let stat: TaskFileStat;
  let bytes: Buffer;
  try {
    const kind = fs.statSync(path);
    stat = { mtimeMs: Number(kind.mtimeMs), size: Number(kind.size) };
    // A named pipe's read would wait for a writer forever, a device's may never end: only a file is read.
    if (!kind.isFile()) {
      const what = kind.isDirectory()
        ? "a folder, not a file"
        : kind.isFIFO()
          ? "a named pipe, not a file"
          : "not a regular file";
      throw new UsageError(`${path}: cannot be read: ${what}`);
    }
    // One past 512 MiB is more than a string holds: every command crashed reading it (exit 1).
    if (stat.size > MAX_TASK_FILE_BYTES) {
      throw new UsageError(
        `${path}: cannot be read: it is ${stat.size} bytes, more than the ${MAX_TASK_FILE_BYTES} a task.md may be: keep the epic's notes elsewhere`,
      );
    }
    bytes = await fs.promises.readFile(path);
  } catch (error) {
    if (isMissing(error)) return null;
    if (error instanceof UsageError) throw error;
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    throw new UsageError(`${path}: cannot be read: ${reason}`, { cause: error });
  }
  // Read as UTF-8, its settings would be lost in silence (no frontmatter found); last_synced is written as
  // UTF-8 text.
  if (utf16Mark(bytes)) {
    throw new UsageError(`${path}: is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8`);
  }
  const text = bytes.toString("utf8");
  // The parser (gray-matter, js-yaml, zod: about half a megabyte bundled) in its own bundle, shared with
  // the last_synced writer: one copy, loaded once by a call that needs both (finalize).
  const { parseTaskFile } = await import("./task-file.js");
  return { path, text, settings: parseTaskFile(text, path), ...stat };
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
