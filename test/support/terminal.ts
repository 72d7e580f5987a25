import { spawn, spawnSync } from "node:child_process";
import { BIN } from "./cli.js";
import { unlessInCi } from "./required.js";

/** Why the terminal tests are skipped here, or null: util-linux's `script` (Debian: bsdutils, essential). */
export const noScript = unlessInCi(
  spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0 ? null : "no script (util-linux)",
);

const quoteShell = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

/**
 * Runs the built CLI with stdout on a terminal (a pseudo-terminal from `script`), in an environment of
 * exactly `env` (plus PATH, HOME and SHELL), and resolves to its exit code and everything it wrote there
 * (stdout and stderr, with the terminal's CRLF line ends). `columns`: the terminal's width (`stty`).
 */
export function runInTerminal(
  args: readonly string[],
  env: Record<string, string>,
  columns = 120,
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map(quoteShell).join(" ");
  const child = spawn("script", ["-qec", `stty cols ${columns} rows 40; exec ${command}`, "/dev/null"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      SHELL: "/bin/sh",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
