import { BIN, EMPTY, shortError, type Timed, timeNode } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { median, ms } from "./lib/stats.js";

/**
 * Where the CLI's start-up goes, printed when a start-up target fails: `node` alone, `--version` (the
 * bin, main.js and the commander program), then each command with and without the compile cache
 * (NODE_DISABLE_COMPILE_CACHE=1: every bundle compiled from source). Each step is timed spawn to exit,
 * interleaved round-robin with the others.
 */

export interface Command {
  label: string;
  /** Arguments of the i-th run (a sync-on update must change something each time to write). */
  args: (i: number) => string[];
  env: Record<string, string>;
}

export async function startupBreakdown(commands: readonly Command[], samples: number): Promise<Section> {
  const env = commands[0]?.env ?? {};
  let runs = 100;
  const steps: { label: string; run: () => Promise<Timed> }[] = [
    { label: "node empty.cjs", run: () => timeNode([EMPTY.cjs], { env }) },
    {
      label: "parallel-progress --version (bin, main.js, commander program)",
      run: () => timeNode([BIN, "--version"], { env }),
    },
  ];
  for (const command of commands) {
    steps.push(
      {
        label: `${command.label}: the command`,
        run: () => timeNode([BIN, ...command.args(runs++)], { env: command.env }),
      },
      {
        label: `${command.label}: the command, compile cache off`,
        run: () =>
          timeNode([BIN, ...command.args(runs++)], {
            env: { ...command.env, NODE_DISABLE_COMPILE_CACHE: "1" },
          }),
      },
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
    title: "1-2b. Where start-up goes (each line a separate process; Δ = vs node empty.cjs)",
    table: [
      ["step", "median", "Δ"],
      ...steps.map((step, i) => {
        const value = median(results[i]!);
        return [step.label, ms(value), i === 0 ? "" : `+${ms(value - base)}`];
      }),
    ],
    notes: ["the sync-on command includes one PATCH to the fake (a bare script's share: see section 1-2)"],
    targets: [],
    readme: [],
  };
}
