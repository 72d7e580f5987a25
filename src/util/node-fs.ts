import type { FileSystem } from "./io.js";

/**
 * Node's own `fs` module object, the library's default file system. Not a default or namespace import:
 * in the CLI's CommonJS bundle those become a copy of the module's ~100 properties made at every start
 * (about a quarter of a millisecond); `process.getBuiltinModule` (Node 20.16+) hands over the module itself.
 */
export function nodeFileSystem(): FileSystem {
  return process.getBuiltinModule("node:fs");
}
