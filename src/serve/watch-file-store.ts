import { watch } from "node:fs";
import { basename } from "node:path";
import { UsageError } from "../errors.js";

/** File-system events are gathered for this long, then the listener is called once. */
const SETTLE_MS = 20;

/**
 * Calls `listener` soon after the state file is replaced (every committed change renames a new file
 * over it), from file-system notifications on the state folder, without polling. The shape of
 * `RunStore.subscribe`, for the file store. Resolves to a function that stops it.
 */
export async function subscribeToStateFile(
  statePath: string,
  folder: string,
  listener: () => void,
): Promise<() => Promise<void>> {
  const name = basename(statePath);
  let timer: NodeJS.Timeout | null = null;
  let watcher: ReturnType<typeof watch>;
  try {
    watcher = watch(folder, { persistent: true }, (_event, filename) => {
      // Temporary files and the lock come and go in the same folder; a null name may be anything.
      if (filename !== null && String(filename) !== name) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        listener();
      }, SETTLE_MS);
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UsageError(
        `no run state in ${folder}: start a run with \`parallel-progress init\` first, or pass --dir`,
        { cause: error },
      );
    }
    throw error;
  }
  // A watcher that fails (its folder removed) stops: the view keeps the last state it read.
  watcher.on("error", () => watcher.close());
  return async () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
