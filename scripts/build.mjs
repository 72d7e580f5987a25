// Builds the library (dist/lib: ES modules transpiled file by file by esbuild, unbundled, and their .d.ts
// by `tsc -b tsconfig.build.json`, which type-checks src once) and the CLI (esbuild, dist/cli).
// `--no-types` leaves the .d.ts out: `npm test` runs without them (nothing run by a test needs them) and
// emits them in its checks lane (`tsc -b`), so the tests start about a second after the build does.
//
// The CLI is CommonJS, so a call never starts Node's ES module loader (measured: a quarter of an
// `update`'s start-up on Node 20 went to it and to reading each chunk of an ES module build). main.cjs
// holds what every command needs; each local module the code loads with import() is a bundle of its own,
// read only when first imported (the task.md parser with gray-matter and zod, the GitHub write path with
// Octokit, the status and watch views...). The error classes (src/errors.ts) are main.cjs's, which
// exports them: the other bundles import them from it, so `instanceof` holds across bundles, and a call
// reads no file for them (each file required costs Node 20 about 2 million instructions).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { deferBuiltins, NODE_BUNDLE } from "./bundling.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv.includes("--if-missing") && existsSync(join(root, "dist/cli/main.cjs"))) process.exit(0);

const types = !process.argv.includes("--no-types");
if (types) rmSync(join(root, "dist"), { recursive: true, force: true });
else {
  // The .d.ts and tsc's build info are kept: `tsc -b` rechecks and re-emits only what changed since.
  rmSync(join(root, "dist/cli"), { recursive: true, force: true });
  const lib = join(root, "dist/lib");
  if (existsSync(lib)) {
    for (const file of readdirSync(lib, { recursive: true }))
      if (file.endsWith(".js")) rmSync(join(lib, file));
  }
}

const src = join(root, "src");
const sources = readdirSync(src, { recursive: true }).filter(
  (file) => file.endsWith(".ts") && !file.endsWith(".d.ts"),
);
/** `src/sync/client-and-renderer.ts` → `sync-client-and-renderer` */
const bundleName = (file) => relative(src, file).replace(/\.ts$/, "").replaceAll("/", "-");
const errors = join(src, "errors.ts");
/** Every local module loaded with import(), found in the sources. */
const lazy = new Set();
for (const file of sources) {
  for (const [, path] of readFileSync(join(src, file), "utf8").matchAll(
    /import\("(\.{1,2}\/[^"]+)\.js"\)/g,
  )) {
    lazy.add(resolve(src, dirname(file), `${path}.ts`));
  }
}

/**
 * An import() of a lazy bundle is left to Node's require at run time; so is, in the lazy bundles
 * (`inMain` false), an import of the error classes, which main.cjs exports.
 */
const bundles = (inMain) => ({
  name: "bundles",
  setup(build) {
    build.onResolve({ filter: /^\.{1,2}\// }, (args) => {
      if (args.kind === "entry-point") return undefined;
      const source = resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts"));
      if (source === errors && !inMain) return { path: "./main.cjs", external: true };
      const own = args.kind === "dynamic-import" && lazy.has(source);
      return own ? { path: `./${bundleName(source)}.cjs`, external: true } : undefined;
    });
  },
});

/**
 * commander requires child_process at its top level for executable subcommands, which this CLI does not
 * have; loading it (and the net and streams it loads) cost about 3.5 ms of every call (measured in
 * `npm run bench:startup`, before and after in one run).
 */
const deferred = deferBuiltins({ "node:child_process": /[\\/]node_modules[\\/]commander[\\/]/ });

const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const options = {
  ...NODE_BUNDLE,
  absWorkingDir: root,
  outdir: "dist/cli",
  outExtension: { ".js": ".cjs" },
  // import() of a bundle becomes require(): no ES module loader at run time.
  supported: { "dynamic-import": false },
  define: { VERSION: JSON.stringify(version) },
};
await Promise.all([
  // The library, one .js per source, not bundled: transpiling file by file is safe as tsconfig.json has
  // isolatedModules and verbatimModuleSyntax; ES2022 as tsc's target (esbuild reads tsconfig.json too).
  esbuild.build({
    absWorkingDir: root,
    entryPoints: sources.filter((file) => !file.startsWith("cli/")).map((file) => join("src", file)),
    outbase: "src",
    outdir: "dist/lib",
    format: "esm",
    platform: "node",
    target: "es2022",
    logLevel: "warning",
  }),
  esbuild.build({ ...options, entryPoints: { main: "src/cli/main.ts" }, plugins: [bundles(true), deferred] }),
  esbuild.build({
    ...options,
    entryPoints: Object.fromEntries([...lazy].map((source) => [bundleName(source), source])),
    plugins: [bundles(false), deferred],
  }),
]);

if (types) {
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-b", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
