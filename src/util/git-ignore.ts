import { join } from "node:path";
import { writeFileAtomicSync } from "../store/atomic-write.js";
import type { FileSystem } from "./io.js";

const CONTENT = "# Written by parallel-progress: local run files, not for version control.\n*\n";

/**
 * Puts a `.gitignore` that ignores everything in `dir` (as pytest and others do for their caches), so that
 * agents committing their work with `git add -A` never commit the run state, its locks or queued posts.
 * Written whole or not at all (writeFileAtomicSync): a full disk once left it empty, which then counted as
 * there and ignored nothing. An existing one that is not empty is left as it is; any failure is ignored
 * (it only spares the user a mistake), and the next run's start tries again.
 */
export function ignoreInGit(fs: FileSystem, dir: string): void {
  const path = join(dir, ".gitignore");
  try {
    if (sizeOf(fs, path) > 0) return;
    // Readable by all: git run by another user (a job's tool run as root in a container, git as the
    // runner) must read it, or it ignores nothing and fails on the run's files. Writable by the owner
    // alone, whatever the umask (000 made it 0666).
    writeFileAtomicSync(fs, path, CONTENT, { mode: 0o644 });
  } catch {
    // Not writable: nothing to do.
  }
}

/** The file's size; 0 when there is none. */
function sizeOf(fs: FileSystem, path: string): number {
  try {
    return Number(fs.statSync(path).size);
  } catch {
    return 0;
  }
}
