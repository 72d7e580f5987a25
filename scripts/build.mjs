// Builds the library (tsc: ESM + .d.ts, unbundled) and the CLI (esbuild: one bundle, lazy chunks per command).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv.includes("--if-missing") && existsSync(join(root, "dist/cli/main.js"))) process.exit(0);

rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});

const esbuild = await import("esbuild");
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts" },
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  chunkNames: "chunk-[hash]",
  // gray-matter and proper-lockfile are CommonJS and require Node built-ins.
  alias: { "graceful-fs": "./scripts/shims/graceful-fs.cjs" },
  banner: { js: 'import{createRequire as __cr}from"node:module";const require=__cr(import.meta.url);' },
  define: { VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version) },
  logLevel: "warning",
});
