#!/usr/bin/env node
// CommonJS (bin/package.json), like the CLI's bundles: no ES module loader at start-up.
"use strict";
require("../dist/cli/compile-cache.js").enableCompileCache(process.argv[2]);
require("../dist/cli/main.js");
