import { type FSWatcher, watch } from "node:fs";
import { type FileRunStore, STATE_DIR } from "../store/file-store.js";
import type { RunSource } from "./live-run.js";

/**
 * The file store as the live view's source, before any run too and across a state folder removed and
 * made again: the store's notifications come from its state folder, so the epic directory is watched
 * for that folder (fs.watch, no polling), and each time it appears or goes the store's own watch is
 * started again and the listener called once (for a state written before the watch began, or none).
 */
export function fileRunSource(store: FileRunStore, epicDir: string): RunSource {
  return {
    location: store.location,
    read: () => store.read(),
    subscribe: async (listener) => {
      let inner: (() => Promise<void>) | null = null;
      let stopped = false;
      let attaching: Promise<void> = Promise.resolve();

      // (Re)starts the store's watch of its folder: made by init, or removed and made again (the old
      // watch saw nothing more once its folder was gone). Each attempt is followed by one read.
      const attach = (): Promise<void> => {
        attaching = attaching
          .catch(() => undefined)
          .then(async () => {
            if (stopped) return;
            const old = inner;
            inner = null;
            await old?.();
            try {
              inner = await store.subscribe(listener);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
            }
            listener();
          });
        return attaching;
      };

      const parent: FSWatcher = watch(epicDir, (_event, name) => {
        if (name === null || String(name) === STATE_DIR) void attach().catch(() => undefined);
      });
      parent.on("error", () => parent.close());
      try {
        await attach();
      } catch (error) {
        parent.close();
        throw error;
      }
      return async () => {
        stopped = true;
        parent.close();
        await attaching.catch(() => undefined);
        await inner?.();
      };
    },
  };
}
