// Builds the library (tsc: ESM + .d.ts, unbundled) and the CLI (esbuild).
//
// The CLI is laid out for start-up time, which every workflow event pays: dist/cli/main.js holds all
// that the frequent commands need, in one file; the other modules the code loads with `import()` (the
// GitHub client and renderer, the commander program, the task.md parser, the queue retry, the status
// view, ...) are bundles of their own, loaded only when used. They take src/errors.ts from main.js, so
// `instanceof` works across bundles.
//
// The bundles are CommonJS, so a call runs without Node's ES module loader (~4 ms less per call on Node
// 20; the published library stays ESM). bin/parallel-progress.cjs loads them with V8's code cache.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv.includes("--if-missing") && existsSync(join(root, "dist/cli/build-id"))) process.exit(0);

rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

const src = join(root, "src");
const shared = { errors: join(src, "errors.ts") }; // bundled into main.js, imported from it by the rest
/** `src/render/progress-comment.ts` → `lazy-render-progress-comment` */
const bundleName = (file) => `lazy-${relative(src, file).replace(/\.ts$/, "").replaceAll("/", "-")}`;

// Every local module loaded with import(): found in the sources, each becomes its own bundle.
const lazy = new Set();
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith(".ts")) {
      for (const match of readFileSync(path, "utf8").matchAll(/import\("(\.{1,2}\/[^"]+)"\)/g)) {
        lazy.add(resolve(dirname(path), match[1].replace(/\.js$/, ".ts")));
      }
    }
  }
};
walk(src);

/** Dynamic imports of lazy modules stay out of a bundle; errors.ts comes from main.js (one definition). */
const layout = (errorsFrom) => ({
  name: "lazy-bundles",
  setup(build) {
    build.onResolve({ filter: /^\.{1,2}\// }, (args) => {
      if (args.kind === "entry-point") return undefined;
      const target = resolve(args.resolveDir, args.path.replace(/\.js$/, ".ts"));
      if (args.kind === "dynamic-import" && lazy.has(target)) {
        return { path: `./${bundleName(target)}.js`, external: true };
      }
      if (target === shared.errors && errorsFrom) return { path: errorsFrom, external: true };
      return undefined;
    });
  },
});

/** pg's lib/stream.js probes for Cloudflare Workers by loading Node's fetch stack: see the shim. */
const pgStream = {
  name: "pg-stream",
  setup(build) {
    build.onResolve({ filter: /^\.\/stream$/ }, (args) =>
      /node_modules[\\/]pg[\\/]lib$/.test(args.resolveDir)
        ? { path: join(root, "scripts/shims/pg-stream.cjs") }
        : undefined,
    );
  },
};

const esbuild = await import("esbuild");
const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
const common = {
  absWorkingDir: root,
  outdir: "dist/cli",
  bundle: true,
  splitting: false,
  format: "cjs",
  // import() of a lazy bundle becomes require(): no ES module loader at run time.
  supported: { "dynamic-import": false },
  platform: "node",
  target: "node20",
  minify: !process.env.NO_MINIFY,
  legalComments: "none",
  // proper-lockfile requires graceful-fs, which patches all of fs when loaded, and signal-exit, which
  // hooks every signal; @octokit/request parses every answer with json-with-bigint: all cost start-up
  // time; the shims in scripts/shims keep what the product needs (each says why).
  alias: {
    "graceful-fs": "./scripts/shims/graceful-fs.cjs",
    "signal-exit": "./scripts/shims/signal-exit.cjs",
    "json-with-bigint": "./scripts/shims/json-with-bigint.mjs",
  },
  define: { VERSION: JSON.stringify(version) },
  logLevel: "warning",
};
await esbuild.build({ ...common, entryPoints: { main: "src/cli/main.ts" }, plugins: [layout(null)] });
await esbuild.build({
  ...common,
  entryPoints: Object.fromEntries([...lazy].map((file) => [bundleName(file), file])),
  plugins: [layout("./main.js"), pgStream],
});
// The bin loads the bundles itself, but they are CommonJS in a "type": "module" package: say so for
// anything else that loads them (a debugger, `node dist/cli/main.js`).
writeFileSync(join(root, "dist/cli/package.json"), '{\n  "type": "commonjs"\n}\n');
// The compile cache (bin/parallel-progress.cjs) keys its entries by the bundles' content, so another
// build never uses them.
const hash = createHash("sha256");
for (const name of readdirSync(join(root, "dist/cli")).sort()) {
  hash.update(readFileSync(join(root, "dist/cli", name)));
}
writeFileSync(join(root, "dist/cli/build-id"), hash.digest("hex").slice(0, 16));
