import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { Module } from "node:module";
import { basename, dirname, join } from "node:path";
import { Script } from "node:vm";

/**
 * V8's compiled code for the CLI's bundles, kept between runs: every workflow event starts the CLI, and
 * compiling its bundles (and, lazily, each function it runs) is a large part of that start-up.
 *
 * Node ≥ 22.1 has this built in (`module.enableCompileCache()`), which is used where present. On Node 20
 * the same is done here, for the CLI's own bundles only: each is compiled with the cached data of the
 * same command (`update`, `init`, ...) if there is one, and when there was none or V8 refused it, the
 * code compiled by the end of the run is written for the next. The cache is only an accelerator: any
 * failure to read, check or write it is ignored, and V8 refuses data made by another V8 or for other
 * source. Entries are keyed by the build's content hash, so another build never picks them up.
 *
 * Where: `$NODE_COMPILE_CACHE` if set (as Node's own), else the system's temp directory, in a folder per
 * Node version and user (mode 0700; not used if another user owns it or others can write to it).
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off (as Node's own). `NODE_DEBUG=parallel-progress` reports
 * what it does on stderr.
 */

declare const BUILD_ID: string;

interface Env {
  [name: string]: string | undefined;
}

/** The parts of Node's CommonJS module objects used here (not in @types/node's public types). */
interface CommonJsModule {
  exports: unknown;
  filename: string;
  require(id: string): unknown;
}
type Compile = (this: CommonJsModule, content: string, filename: string) => unknown;

export function enableCompileCache(command: string | undefined, env: Env = process.env): void {
  if (env.NODE_DISABLE_COMPILE_CACHE === "1") return;
  const builtIn = (Module as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof builtIn === "function") {
    builtIn();
    return;
  }
  const debug = /\bparallel-progress\b/.test(env.NODE_DEBUG ?? "")
    ? (line: string) => process.stderr.write(`compile cache: ${line}\n`)
    : () => undefined;
  const dir = cacheDir(env, debug);
  if (dir === null) return;
  const scope = __dirname;
  const kind = command !== undefined && /^[a-z_-]{1,20}$/.test(command) ? command : "other";
  // V8 refuses data made under other flags: one entry per flag set, so runs with different flags coexist.
  const flags = fnv1a(`${process.execArgv.join(" ")}\0${env.NODE_OPTIONS ?? ""}`);
  const prototype = (Module as unknown as { prototype: { _compile: Compile } }).prototype;
  const compile = prototype._compile;
  const toWrite: { file: string; script: Script; name: string }[] = [];

  prototype._compile = function (this: CommonJsModule, content: string, filename: string) {
    if (dirname(filename) !== scope) return compile.call(this, content, filename);
    const name = basename(filename);
    const file = join(dir, `${BUILD_ID}-${name}-${kind}-${flags}.bin`);
    const cachedData = readIfThere(file);
    const script = new Script(Module.wrap(content), {
      filename,
      ...(cachedData ? { cachedData } : {}),
    });
    if (!cachedData || script.cachedDataRejected) {
      debug(`${name} (${kind}): ${cachedData ? "refused" : "none"}, will write`);
      toWrite.push({ file, script, name });
    } else debug(`${name} (${kind}): used`);
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    // The bundles call require() with an id only (built-ins and their sibling bundles).
    const requireFrom = (id: string) => this.require(id);
    return wrapper.call(this.exports, this.exports, requireFrom, this, filename, dirname(filename));
  };

  process.once("exit", () => {
    for (const { file, script, name } of toWrite) {
      const temporary = `${file}.${process.pid}.tmp`;
      try {
        writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
        renameSync(temporary, file);
        debug(`${name} (${kind}): written`);
      } catch {
        try {
          unlinkSync(temporary);
        } catch {
          // Never written.
        }
      }
    }
  });
}

/** This user's cache folder for this Node, made if missing; null when it cannot be trusted or made. */
function cacheDir(env: Env, debug: (line: string) => void): string | null {
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  const base = env.NODE_COMPILE_CACHE || join(tempDir(env), "parallel-progress-compile-cache");
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
    return dir;
  } catch {
    return null;
  }
}

/** os.tmpdir() without loading node:os (a built-in not otherwise loaded by the per-event commands). */
function tempDir(env: Env): string {
  if (process.platform === "win32") return (require("node:os") as typeof import("node:os")).tmpdir();
  const dir = env.TMPDIR || env.TMP || env.TEMP || "/tmp";
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}

/** A short hash (FNV-1a, 32 bits) for names: not for security. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
