// `npm test`, in two lanes once the JavaScript is built (esbuild, about a second: `build.mjs --no-types`):
// - the tests (vitest), which need only the JavaScript (dist/lib's .js, dist/cli);
// - the checks, one after the other: `npm run typecheck` (`tsc -b`: src checked once, emitting dist/lib's
//   .d.ts, then test/bench/scripts/examples against them; the web page; the .d.ts as a user's strict
//   project sees them), then `npm run lint`. tsc runs on one core, and the tests, which wait on the
//   processes and sockets they start much of the time, leave room for it.
// The checks' output is printed when they end; the exit code is the first failure's.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const npm = "npm";

/** Runs `args`; with `capture`, its output is kept and returned instead of streamed. */
function run(command, args, capture = false) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
    let output = "";
    child.stdout?.on("data", (chunk) => (output += chunk));
    child.stderr?.on("data", (chunk) => (output += chunk));
    child.on("error", (error) => resolve({ code: 1, output: `${output}${error.message}\n` }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

const build = await run(process.execPath, [
  fileURLToPath(new URL("build.mjs", import.meta.url)),
  "--no-types",
]);
if (build.code !== 0) process.exit(build.code);

// The checks at a lower CPU priority (`nice`, as every Linux and macOS has): they take what the tests leave.
const niced = (args) => (process.platform === "win32" ? [npm, args] : ["nice", ["-n", "10", npm, ...args]]);
const checks = (async () => {
  const typecheck = await run(...niced(["run", "typecheck"]), true);
  const lint = await run(...niced(["run", "lint"]), true);
  return { code: typecheck.code || lint.code, output: typecheck.output + lint.output };
})();
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const tests = await run(process.execPath, [vitest, "run", ...process.argv.slice(2)]);
const checked = await checks;
process.stdout.write(
  `\n${checked.output.trim()}\n${checked.code === 0 ? "typecheck and lint passed" : "typecheck or lint FAILED"}\n`,
);
process.exit(tests.code || checked.code);
