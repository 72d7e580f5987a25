// Bundling shim: proper-lockfile requires graceful-fs, which patches the whole fs module on load
// (costly at every CLI start). The product always hands proper-lockfile its own fs, so plain fs serves.
module.exports = require("node:fs");
