// Builds the library (tsc: ES modules + .d.ts, unbundled, dist/lib) and the CLI (esbuild, dist/cli).
//
// The CLI is one bundle, dist/cli/main.js, plus the chunks esbuild splits off for what the code loads
// with import() (the task.md parser, the GitHub write path, status and watch views...), so a call loads
// only what its command needs.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv.includes("--if-missing") && existsSync(join(root, "dist/cli/main.js"))) process.exit(0);

rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: !process.env.NO_MINIFY,
  legalComments: "none",
  // Some dependencies are CommonJS and require() built-ins: give the ES module bundle a require.
  banner: {
    js: 'import { createRequire as __ppRequire } from "node:module"; const require = __ppRequire(import.meta.url);',
  },
  define: { VERSION: JSON.stringify(version) },
  logLevel: "warning",
});
