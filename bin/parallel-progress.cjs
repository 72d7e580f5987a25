#!/usr/bin/env node
// Node's own compile cache where Node has it (22.1+), then the CLI. Node 20 has none, and loading
// node:module only to find that out loads the ES module loader, a few milliseconds of every call.
"use strict";
if (Number(process.versions.node.split(".")[0]) >= 22) require("node:module").enableCompileCache?.();
require("../dist/cli/main.cjs").main();
