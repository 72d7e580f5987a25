import { join } from "node:path";
import { UsageError } from "../errors.js";
import type { FileSystem } from "../util/io.js";
import type { TaskSettings } from "./task-file.js";

const TASK_FILE_NAME = "task.md";

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
  let stat: TaskFileStat | null;
  let text: string;
  try {
    stat = statTaskFile(fs, epicDir);
    if (stat === null) return null;
    text = String(await fs.promises.readFile(path, "utf8"));
  } catch (error) {
    if (isMissing(error)) return null;
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    throw new UsageError(`${path}: cannot be read: ${reason}`, { cause: error });
  }
  // The parser (gray-matter, js-yaml, zod: about half a megabyte bundled) in its own bundle, shared with
  // the last_synced writer: one copy, loaded once by a call that needs both (finalize).
  const { parseTaskFile } = await import("./task-file.js");
  return { path, text, settings: parseTaskFile(text, path), ...stat };
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
