import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { deferBuiltins, NODE_BUNDLE } from "../../scripts/bundling.mjs";

const run = promisify(execFile);
const root = await mkdtemp(join(tmpdir(), "pp-defer-"));
afterAll(() => rm(root, { recursive: true, force: true }));

/** Bundles `entry` with a dependency `dep` that requires child_process at its top level. */
async function bundle(entry: string): Promise<string> {
  await mkdir(join(root, "node_modules/dep"), { recursive: true });
  await writeFile(
    join(root, "node_modules/dep/index.js"),
    `const childProcess = require("node:child_process");
exports.echo = (text) => childProcess.execFileSync(process.execPath, ["-e", "process.stdout.write(process.argv[1])", text], { encoding: "utf8" });`,
  );
  await writeFile(join(root, "entry.js"), entry);
  const out = join(root, "out.cjs");
  await esbuild.build({
    ...NODE_BUNDLE,
    absWorkingDir: root,
    entryPoints: ["entry.js"],
    outfile: out,
    logLevel: "silent",
    plugins: [deferBuiltins({ "node:child_process": /[\\/]node_modules[\\/]dep[\\/]/ })],
  });
  return (await run(process.execPath, [out])).stdout;
}

const loaded = `() => process.moduleLoadList.includes("NativeModule child_process")`;

describe("deferBuiltins (the CLI's build)", () => {
  it("loads a dependency's built-in when the dependency first uses it, and the module then works", async () => {
    const out = await bundle(`const loaded = ${loaded};
const dep = require("dep");
const before = loaded();
const echoed = dep.echo("hello");
console.log(JSON.stringify({ before, echoed, after: loaded() }));`);
    expect(JSON.parse(out)).toEqual({ before: false, echoed: "hello", after: true });
  });

  it("leaves the same built-in required by a file it does not name as it is", async () => {
    const out = await bundle(`const loaded = ${loaded};
require("dep");
const own = require("node:child_process");
console.log(JSON.stringify({ loaded: loaded(), spawn: typeof own.spawn }));`);
    expect(JSON.parse(out)).toEqual({ loaded: true, spawn: "function" });
  });
});
