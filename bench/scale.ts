import { stat } from "node:fs/promises";
import { join } from "node:path";
import { type Epics, LOCAL_TASK } from "./lib/epic.js";
import { BIN, cleanEnv, cliOutput, shortError, timeNode } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { kib, median, ms, quantile, ratio } from "./lib/stats.js";

/** Item 4: the cost of one `update` (sync off) in a 1,000-agent run vs a 3-agent run, interleaved. */

export const SCALE_TARGET = 1.5;
const BIG = 1_000;
const SMALL = 3;

interface Run {
  label: string;
  dir: string;
  domains: string[];
  samples: number[];
}

export async function scaleSection(epics: Epics, samples: number, warmups: number): Promise<Section> {
  const env = cleanEnv();
  const make = async (count: number): Promise<Run> => {
    const dir = await epics.make(LOCAL_TASK);
    const domains = Array.from({ length: count }, (_, i) => `agent-${String(i + 1).padStart(4, "0")}`);
    await cliOutput(["init", "--epic", `BENCH-${count}`, "--domains", domains.join(","), "--dir", dir], env);
    return { label: `update in a ${count.toLocaleString("en")}-agent run`, dir, domains, samples: [] };
  };
  const runs = [await make(SMALL), await make(BIG)];
  for (let round = 0; round < warmups + samples; round++) {
    for (let k = 0; k < runs.length; k++) {
      const run = runs[(round + k) % runs.length]!;
      // A different agent each time (spread over the run), with a file count that changes.
      const domain = run.domains[(round * 37) % run.domains.length]!;
      const files = `${round % 9}/9`;
      const result = await timeNode(
        [BIN, "update", domain, "--status", "in_progress", "--files", files, "--dir", run.dir],
        {
          env,
        },
      );
      if (result.code !== 0)
        throw new Error(`${run.label} exited ${result.code}: ${shortError(result.stderr)}`);
      if (round >= warmups) run.samples.push(result.ms);
    }
  }
  const sizes = await Promise.all(
    runs.map((run) => stat(join(run.dir, ".parallel-progress", "state.json")).then((s) => s.size)),
  );
  const [small, big] = runs as [Run, Run];
  const scale = median(big.samples) / median(small.samples);
  return {
    title: "4. Scale: one `update` (sync off) by run size, interleaved",
    table: [
      ["run", "median", "min", "p90", "state file"],
      ...runs.map((run, i) => [
        run.label,
        ms(median(run.samples)),
        ms(Math.min(...run.samples)),
        ms(quantile(run.samples, 0.9)),
        kib(sizes[i] ?? 0),
      ]),
    ],
    notes: [
      `ratio 1,000 / 3 agents: ${ratio(scale)} (+${ms(median(big.samples) - median(small.samples))} per update)`,
    ],
    targets: [
      {
        name: "scale: update in 1,000-agent run / 3-agent run",
        value: ratio(scale),
        goal: `≤ ${SCALE_TARGET.toFixed(2)}x`,
        pass: scale <= SCALE_TARGET,
        informational: true,
      },
    ],
    readme: [
      ["`update` in a 3-agent run", ms(median(small.samples)), ""],
      [
        "`update` in a 1,000-agent run",
        `${ms(median(big.samples))} (${ratio(scale)}; state file ${kib(sizes[1] ?? 0)})`,
        `≈ 3-agent run (≤ ${SCALE_TARGET}x)`,
      ],
    ],
  };
}
