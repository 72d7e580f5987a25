import { join } from "node:path";
import { writeFileAtomicSync } from "../store/atomic-write.js";
import type { FileSystem } from "../util/io.js";
import { makeFolder } from "../util/make-folder.js";
import type { TaskFileStat } from "./read-task-file.js";

/**
 * What this machine last read of its task.md for a run (size and mtime), kept in `--dir`, never in the
 * shared state: every machine has its own task.md (or none). A later command re-reads task.md only when
 * its stat differs, so an unchanged one costs one stat and this small read, not a parse.
 */
interface TaskFileSeen {
  runId: string;
  /** null: there was no task.md. */
  taskFile: TaskFileStat | null;
}

/** Beside the file store's state; with a database store, the same folder holds only local files. */
const PATH = [".parallel-progress", "task-file.json"] as const;

/** This machine's record, or undefined when there is none (or it is unreadable). */
export function readTaskFileSeen(fs: FileSystem, epicDir: string): TaskFileSeen | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(join(epicDir, ...PATH), "utf8")) as Partial<TaskFileSeen>;
    const stat = record.taskFile;
    if (
      typeof record.runId !== "string" ||
      typeof stat?.mtimeMs !== "number" ||
      typeof stat.size !== "number"
    ) {
      return undefined;
    }
    return { runId: record.runId, taskFile: { mtimeMs: stat.mtimeMs, size: stat.size } };
  } catch {
    return undefined;
  }
}

/** What the record says of `runId`'s task.md (undefined: not read on this machine for that run). */
export function seenFor(record: TaskFileSeen | undefined, runId: string): TaskFileStat | null | undefined {
  return record?.runId === runId ? record.taskFile : undefined;
}

/** Records what was read; a failure only costs a re-read of task.md at the next command. */
export function writeTaskFileSeen(fs: FileSystem, epicDir: string, record: TaskFileSeen): void {
  try {
    makeFolder(fs, join(epicDir, PATH[0]));
    writeFileAtomicSync(fs, join(epicDir, ...PATH), `${JSON.stringify(record)}\n`);
  } catch {
    // Not writable: nothing lost but time.
  }
}
