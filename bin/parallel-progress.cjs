#!/usr/bin/env node
// Kept to syntax any Node.js parses (no `?.`, no import), so that an older Node than the package supports
// is told which it needs instead of failing inside the CLI (Node 18 lacks process.getBuiltinModule, and
// npm only warns about engines). Then Node's own compile cache where Node has it (22.1+), and the CLI.
// Node 20 has none, and loading node:module only to find that out loads the ES module loader, a few
// milliseconds of every call.
"use strict";
const version = process.versions.node.split(".").map(Number);
const major = version[0];
const minor = version[1];
// package.json's engines: ^20.17.0 || >=22.9.0
if ((major === 20 && minor >= 17) || major > 22 || (major === 22 && minor >= 9)) {
  if (major >= 22) {
    const nodeModule = require("node:module");
    if (nodeModule.enableCompileCache) nodeModule.enableCompileCache();
  }
  require("../dist/cli/main.cjs").main();
} else {
  process.stderr.write(`parallel-progress needs Node.js ^20.17.0 or >=22.9.0, this is ${process.version}\n`);
  process.exitCode = 1;
}
