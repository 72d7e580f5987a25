import { join } from "node:path";
import type { FileSystem } from "./io.js";

const CONTENT = "# Written by parallel-progress: local run files, not for version control.\n*\n";

/**
 * Puts a `.gitignore` that ignores everything in `dir` (as pytest and others do for their caches), so that
 * agents committing their work with `git add -A` never commit the run state, its locks or queued posts.
 * An existing `.gitignore` is left as it is; any failure is ignored (it only spares the user a mistake).
 */
export function ignoreInGit(fs: FileSystem, dir: string): void {
  try {
    fs.writeFileSync(join(dir, ".gitignore"), CONTENT, { encoding: "utf8", flag: "wx" });
  } catch {
    // There already, or the folder is not writable: nothing to do.
  }
}
