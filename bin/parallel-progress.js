#!/usr/bin/env node
// Node's own compile cache where Node has it (22.1+), then the CLI.
import module from "node:module";

module.enableCompileCache?.();
await import("../dist/cli/main.js");
