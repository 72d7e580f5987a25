// Bundling shim: `require("path")` in proper-lockfile, served as an ES module so that the CLI's main
// bundle needs no CommonJS `require` (creating one loads Node's CommonJS loader at every start).
export * from "node:path";
