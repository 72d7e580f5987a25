import { spawn } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BIN, EMPTY, shortError, type Timed, timeNode } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { kib, median, ms } from "./lib/stats.js";

/**
 * Where the CLI's start-up goes, printed when a start-up target fails: the modules a command loads (from
 * NODE_DEBUG=esm), then `node` importing only its built-ins, then those plus its dist chunks (all but
 * main.js), then `--version` (main.js: commander, bundled CommonJS, program set-up), then the command.
 * Each step is timed spawn to exit, interleaved round-robin with the others.
 */

export interface Command {
  label: string;
  /** Arguments of the i-th run (a sync-on update must change something each time to write). */
  args: (i: number) => string[];
  env: Record<string, string>;
}

interface Loaded {
  builtins: string[];
  /** Absolute paths of dist chunks, main.js excluded. */
  chunks: string[];
}

export async function startupBreakdown(commands: readonly Command[], samples: number): Promise<Section> {
  const dir = await mkdtemp(join(tmpdir(), "pp-bench-startup-"));
  try {
    const steps: { label: string; run: () => Promise<Timed> }[] = [
      { label: "node empty.cjs", run: () => timeNode([EMPTY.cjs], { env: commands[0]?.env ?? {} }) },
      {
        label: "parallel-progress --version (main.js + commander, no command)",
        run: () => timeNode([BIN, "--version"], { env: commands[0]?.env ?? {} }),
      },
    ];
    const notes: string[] = [];
    let runs = 100;
    for (const [i, command] of commands.entries()) {
      const loaded = await loadedModules(command);
      const builtinsFile = join(dir, `builtins-${i}.mjs`);
      const graphFile = join(dir, `graph-${i}.mjs`);
      const imports = (specifiers: string[]) =>
        specifiers.map((s) => `import ${JSON.stringify(s)};\n`).join("");
      await writeFile(builtinsFile, imports(loaded.builtins));
      await writeFile(graphFile, imports([...loaded.builtins, ...loaded.chunks]));
      const size = (await Promise.all(loaded.chunks.map((c) => stat(c).then((s) => s.size)))).reduce(
        (a, b) => a + b,
        0,
      );
      steps.push(
        {
          label: `${command.label}: node importing its ${loaded.builtins.length} ESM built-ins`,
          run: () => timeNode([builtinsFile], { env: command.env }),
        },
        {
          label: `${command.label}: + its ${loaded.chunks.length} dist chunks (${kib(size)}, main.js excluded)`,
          run: () => timeNode([graphFile], { env: command.env }),
        },
        {
          label: `${command.label}: the command itself`,
          run: () => timeNode([BIN, ...command.args(runs++)], { env: command.env }),
        },
      );
      notes.push(
        `${command.label} loads: ${loaded.builtins.join(", ")}; ${loaded.chunks.length} chunks + main.js`,
      );
    }
    const results = steps.map(() => [] as number[]);
    for (let round = 0; round < samples + 1; round++) {
      for (let k = 0; k < steps.length; k++) {
        const index = (round + k) % steps.length;
        const result = await steps[index]!.run();
        if (result.code !== 0)
          throw new Error(`${steps[index]!.label} exited ${result.code}: ${shortError(result.stderr)}`);
        if (round > 0) results[index]!.push(result.ms);
      }
    }
    const base = median(results[0]!);
    return {
      title: "1-2b. Where start-up goes (each line a separate process; Δ = vs node empty.mjs)",
      table: [
        ["step", "median", "Δ"],
        ...steps.map((step, i) => {
          const value = median(results[i]!);
          return [step.label, ms(value), i === 0 ? "" : `+${ms(value - base)}`];
        }),
      ],
      notes: [
        ...notes,
        "CommonJS bundled into main.js (e.g. commander) and the built-ins it require()s count in --version",
      ],
      targets: [],
      readme: [],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The built-ins and dist chunks a command loads, from Node's ESM debug log. */
function loadedModules(command: Command): Promise<Loaded> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...command.args(0)], {
      env: { ...command.env, NODE_DEBUG: "esm" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr.on("data", (chunk: Buffer) => {
      if (log.length < 2_000_000) log += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      const builtins = new Set<string>();
      const chunks = new Set<string>();
      for (const [, kind, url] of log.matchAll(/Translating (BuiltinModule|StandardModule) (\S+)/g)) {
        if (kind === "BuiltinModule" && url) builtins.add(url);
        else if (url?.includes("/dist/cli/chunk-")) chunks.add(fileURLToPath(url));
      }
      resolvePromise({ builtins: [...builtins].sort(), chunks: [...chunks].sort() });
    });
  });
}
