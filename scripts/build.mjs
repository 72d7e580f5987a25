// Builds the library (tsc: ES modules + .d.ts, unbundled, dist/lib) and the CLI (esbuild, dist/cli).
//
// The CLI is CommonJS, so a call never starts Node's ES module loader (measured: a quarter of an
// `update`'s start-up on Node 20 went to it and to reading each split chunk). One bundle, main.cjs, holds
// what the commands need; modules loaded with import() stay in it, evaluated only when first imported,
// except the two that are large and rarely needed, which are bundles of their own: the task.md parser
// (gray-matter, zod: only when task.md changed) and the GitHub write path (Octokit, the renderer: only when
// a write is due). src/errors.ts is a bundle that all of them share, so `instanceof` holds across them.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv.includes("--if-missing") && existsSync(join(root, "dist/cli/main.cjs"))) process.exit(0);

rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

/** Bundles other than main, by source: loaded on demand (lazy) or shared by all (shared). */
const lazy = { "src/config/task-file.ts": "task-file", "src/sync/write-path.ts": "write-path" };
const shared = { "src/errors.ts": "errors" };

/** An import of a shared bundle, or an import() of a lazy one, is left to Node's require at run time. */
const bundles = {
  name: "bundles",
  setup(build) {
    build.onResolve({ filter: /^\.{1,2}\// }, (args) => {
      if (args.kind === "entry-point") return undefined;
      const source = relative(root, resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts")));
      const name = shared[source] ?? (args.kind === "dynamic-import" ? lazy[source] : undefined);
      return name ? { path: `./${name}.cjs`, external: true } : undefined;
    });
  },
};

const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
await esbuild.build({
  absWorkingDir: root,
  entryPoints: {
    main: "src/cli/main.ts",
    ...Object.fromEntries(Object.entries({ ...lazy, ...shared }).map(([source, name]) => [name, source])),
  },
  outdir: "dist/cli",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  format: "cjs",
  // import() of a bundle becomes require(): no ES module loader at run time.
  supported: { "dynamic-import": false },
  platform: "node",
  target: "node20",
  minify: !process.env.NO_MINIFY,
  legalComments: "none",
  plugins: [bundles],
  define: { VERSION: JSON.stringify(version) },
  logLevel: "warning",
});
