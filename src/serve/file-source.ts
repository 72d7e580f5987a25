import { type FSWatcher, watch } from "node:fs";
import { type FileRunStore, STATE_DIR } from "../store/file-store.js";
import type { RunSource } from "./live-run.js";

/**
 * The file store as the live view's source, also before any run was started in the epic directory:
 * the store's notifications come from its state folder, which `init` makes, so until that folder
 * exists the epic directory is watched for it (fs.watch, no polling); then the store's own watch
 * takes over, and the listener is called once for a state written before it began.
 */
export function fileRunSource(store: FileRunStore, epicDir: string): RunSource {
  return {
    location: store.location,
    read: () => store.read(),
    subscribe: async (listener) => {
      let unsubscribe: (() => Promise<void>) | null = null;
      let parent: FSWatcher | null = null;
      let stopped = false;
      let attaching: Promise<boolean> | null = null;

      const attach = (): Promise<boolean> => {
        attaching ??= (async () => {
          if (unsubscribe) return true;
          try {
            unsubscribe = await store.subscribe(listener);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
            throw error;
          }
          if (stopped) await unsubscribe();
          parent?.close();
          parent = null;
          listener();
          return true;
        })().finally(() => {
          attaching = null;
        });
        return attaching;
      };

      if (!(await attach())) {
        parent = watch(epicDir, (_event, name) => {
          if (name === null || String(name) === STATE_DIR) void attach().catch(() => undefined);
        });
        parent.on("error", () => parent?.close());
        await attach(); // the folder may have been made between the first try and the watch
      }
      return async () => {
        stopped = true;
        parent?.close();
        await unsubscribe?.();
      };
    },
  };
}
