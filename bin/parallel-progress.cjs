#!/usr/bin/env node
// Node's own compile cache where Node has it (22.1+), then the CLI.
"use strict";
require("node:module").enableCompileCache?.();
require("../dist/cli/main.cjs").main();
