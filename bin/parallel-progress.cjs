#!/usr/bin/env node
// @ts-check
// The command line's entry: loads the CLI's bundles (dist/cli) and runs it.
//
// Every workflow event starts this process, so start-up is part of the product. The bundles are CommonJS
// (no ES module loader), and are loaded here, not with require(), for V8's code cache: each bundle is
// compiled with the code a previous run of the same command compiled (`update`, `init`, ...), and when
// there was none, V8 refused it (another Node, other flags), or the run that wrote it went down fewer
// paths (it required less), what this run compiled is written at exit for the next. Loading them here
// also skips Node's module resolution (about a millisecond at the first require). The cache only speeds
// things up: any failure to read, check or write it is ignored, V8 checks the data, and the entries are
// keyed by the build's content hash, where it is installed, the command and the Node flags; a call that
// ends with an error writes none.
//
// Where: `$NODE_COMPILE_CACHE` if set, else the system's temp directory, in a folder per Node version and
// user (mode 0700; not used if another user owns it or others can write to it). Safe to delete at any
// time. `NODE_DISABLE_COMPILE_CACHE=1` turns it off; `NODE_DEBUG=parallel-progress` reports on stderr.
"use strict";
// Built-ins through process.getBuiltinModule, not require(): require() of a built-in also builds its ES
// module facade (all its exports), which nothing here uses: about 0.1 ms each at every call.
const { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } =
  process.getBuiltinModule("node:fs");
const { join } = process.getBuiltinModule("node:path");
const { Script } = process.getBuiltinModule("node:vm");

const BUNDLES = join(__dirname, "..", "dist", "cli");
const env = process.env;
const debug =
  env.NODE_DEBUG && /\bparallel-progress\b/.test(env.NODE_DEBUG)
    ? (/** @type {string} */ line) => process.stderr.write(`compile cache: ${line}\n`)
    : () => {};
const command = process.argv[2] ?? "";
const kind = /^[a-z_-]{1,20}$/.test(command) ? command : "other";
const cache = env.NODE_DISABLE_COMPILE_CACHE === "1" ? null : cacheKey();
/** @type {Map<string, { exports: unknown }>} */
const modules = new Map();
/** What this run required (bundles and built-ins): a sign of the code paths it ran. */
const required = new Set(["./main.js"]);
/** @type {{ entry: string, script: import("node:vm").Script, name: string, covered: Set<string> | null }[]} */
const loaded = [];

/**
 * Loads a bundle of dist/cli once, as CommonJS would: the bundles require built-ins and each other
 * (`./name.js`) only.
 * @param {string} name
 * @returns {unknown}
 */
function load(name) {
  const known = modules.get(name);
  if (known) return known.exports;
  const module = { exports: {} };
  modules.set(name, module);
  const filename = join(BUNDLES, name);
  const source = readFileSync(filename, "utf8");
  const entry = cache && join(cache.dir, `${cache.prefix}-${name}-${kind}-${cache.flags}.bin`);
  const stored = entry ? readEntry(entry) : null;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    cachedData: stored?.data,
  });
  if (entry) {
    const covered = stored && !script.cachedDataRejected ? stored.covered : null;
    debug(`${name} (${kind}): ${covered ? "used" : stored ? "refused" : "none"}`);
    if (loaded.length === 0) process.on("exit", atExit);
    loaded.push({ entry, script, name, covered });
  }
  const wrapper = script.runInThisContext({ displayErrors: true });
  const requireFrom = (/** @type {string} */ id) => {
    required.add(id);
    return id.startsWith("./") ? load(id.slice(2)) : (process.getBuiltinModule(id) ?? require(id));
  };
  wrapper.call(module.exports, module.exports, requireFrom, module, filename, BUNDLES);
  return module.exports;
}

/**
 * An entry: V8's data (`<entry>`), and beside it what the run that wrote it required (`<entry>.covers`,
 * text, so that reading it needs none of Buffer's decoding at every call).
 * @param {string} file
 * @returns {{ covered: Set<string>, data: Buffer } | null}
 */
function readEntry(file) {
  try {
    return { covered: new Set(readFileSync(`${file}.covers`, "utf8").split(",")), data: readFileSync(file) };
  } catch {
    return null;
  }
}

/**
 * At exit (once: the process ends after its listeners). Small, as it runs at every call: the writer is
 * compiled only when an entry is to be written.
 * @param {number} code
 */
function atExit(code) {
  // A refused call (a mistyped command, bad input) must not leave entries behind.
  if (code === 0 && loaded.some(({ covered }) => !covers(covered))) writeCaches();
}

/** Whether an entry's run required all this run required. @param {Set<string> | null} covered */
function covers(covered) {
  if (!covered) return false;
  for (const id of required) if (!covered.has(id)) return false;
  return true;
}

/**
 * V8's data for each bundle that had none (or had it refused), and again for a bundle whose
 * entry came from a run that required less than this one (e.g. a local `update` wrote it, this one wrote
 * to GitHub): the new data holds the code of both runs, so entries converge on what the command runs.
 */
function writeCaches() {
  for (const { entry, script, name, covered } of loaded) {
    if (covers(covered)) continue;
    const list = [...new Set([...(covered ?? []), ...required])].sort().join(",");
    /** @type {Buffer} */
    let data;
    try {
      data = script.createCachedData();
    } catch {
      continue; // nothing to write for this one; never an error at exit
    }
    // The data first, then its list. Two writers at once can at worst leave a list that claims more
    // than the data holds: slower calls (functions compiled as without a cache), never wrong ones, as
    // V8 checks the data itself.
    if (writeAtomic(entry, data) && writeAtomic(`${entry}.covers`, list)) {
      debug(`${name} (${kind}): written`);
    }
  }
  pruneOtherBuilds();
}

/** Entries untouched this long, of other builds (another version or checkout), are removed. */
const PRUNE_AFTER_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Removes entries of other builds not written for PRUNE_AFTER_MS, so the folder does not grow with every
 * upgrade. Runs only when this call wrote an entry (rarely: a new build, command or set of flags). An
 * entry still in use by another install is at worst written again by its next call.
 */
function pruneOtherBuilds() {
  if (!cache) return;
  const cutoff = Date.now() - PRUNE_AFTER_MS;
  /** @type {string[]} */
  let names;
  try {
    names = readdirSync(cache.dir);
  } catch {
    return;
  }
  for (const name of names) {
    // This build's entries stay; a temporary file left by a writer killed mid-write does not.
    if (name.startsWith(`${cache.prefix}-`) && !name.endsWith(".tmp")) continue;
    const file = join(cache.dir, name);
    try {
      if (statSync(file).mtimeMs < cutoff) {
        unlinkSync(file);
        debug(`${name}: removed (another build's, or left over, and untouched for 30 days)`);
      }
    } catch {
      // Gone meanwhile: nothing to do.
    }
  }
}

/** @param {string} file @param {string | Buffer} data @returns {boolean} whether it was written */
function writeAtomic(file, data) {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data, { mode: 0o600 });
    renameSync(temporary, file);
    return true;
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Never written.
    }
    return false;
  }
}

/** The folder, the entry prefix and the flags hash; null without a folder this user alone can write. */
function cacheKey() {
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  const base = env.NODE_COMPILE_CACHE || join(tempDir(), "parallel-progress-compile-cache");
  const dir = join(base, `${process.version}-${process.arch}${uid >= 0 ? `-${uid}` : ""}`);
  try {
    let stat = statSync(dir, { throwIfNoEntry: false });
    if (!stat) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      stat = statSync(dir);
    }
    // Cached code runs in this process: a folder another user owns, or others may write to, is not used.
    if (uid >= 0 && (stat.uid !== uid || (stat.mode & 0o022) !== 0)) {
      debug(`${dir} is not this user's alone: not used`);
      return null;
    }
    // The build's content hash (written by the build), so another build never uses these entries, and
    // where it is installed (V8's data names the files it was made from, as stack traces show).
    const prefix = `${readFileSync(join(BUNDLES, "build-id"), "utf8").trim()}-${fnv1a(BUNDLES)}`;
    // V8 refuses data made under other flags: one entry per flag set, so runs with different flags coexist.
    const flags = fnv1a(`${process.execArgv.join(" ")}\0${env.NODE_OPTIONS ?? ""}`);
    return { dir, prefix, flags };
  } catch {
    return null;
  }
}

/** os.tmpdir() without loading node:os (a built-in the per-event commands do not otherwise load). */
function tempDir() {
  if (process.platform === "win32") return process.getBuiltinModule("node:os").tmpdir();
  const dir = env.TMPDIR || env.TMP || env.TEMP || "/tmp";
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}

/** A short hash (FNV-1a, 32 bits) for names: not for security. @param {string} text */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

try {
  load("main.js");
} catch (error) {
  const missing = /** @type {NodeJS.ErrnoException} */ (error);
  if (missing.code !== "ENOENT" || missing.path !== join(BUNDLES, "main.js")) throw error;
  process.stderr.write(
    "parallel-progress: the CLI is not built (dist/cli/main.js is missing): run `npm run build`\n",
  );
  process.exitCode = 1;
}
