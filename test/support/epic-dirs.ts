import { afterEach } from "vitest";
import { makeEpic } from "./cli.js";

/**
 * For a test file: a function that makes a fresh epic directory (with an optional task.md), each one
 * removed after the test that made it (vitest's afterEach, registered here).
 */
export function useEpicDirs(): (task?: string) => Promise<string> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return async (task) => {
    const made = await makeEpic(task);
    cleanups.push(made.cleanup);
    return made.dir;
  };
}
