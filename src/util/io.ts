import type * as nodeFs from "node:fs";

/**
 * The file system the library uses: Node's `fs` module (callback and `promises` APIs).
 * Tests inject memfs (`createFsFromVolume(vol)`), which implements the same surface.
 */
export type FileSystem = typeof nodeFs;

/** The clock, injected so tests can control time. Epoch milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
