import { type FakeGitHub, startFakeGitHub } from "../test/support/fake-github/index.js";
import type { Epics } from "./lib/epic.js";
import { BIN, childrenCpuMs, drainFlushers, EMPTY, ONE_REQUEST, shortError, timeNode } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { STARTUP_FAKE, type StartupFixture, startupFixture, updateArgs } from "./lib/startup-fixture.js";
import { mean, median, ms, quantile, ratio } from "./lib/stats.js";

/**
 * CLI start-up against its two baselines (an empty ES module; a bare ES module making one request with
 * fetch), each timed spawn to exit, interleaved round-robin in one run so that the machine's drift falls
 * on both sides of a ratio. `BENCH_BEFORE=<another build's bin>` adds that build's two updates (before/after).
 */

export const STARTUP_TARGET = 1.3;

interface Variant {
  label: string;
  run(i: number): Promise<{ ms: number; code: number | null; stderr: string }>;
  samples: number[];
  /** CPU time of each call (ms, in steps of 10: averaged, not a median). */
  cpu: number[];
  /** GitHub writes per call, for a CLI variant that writes. */
  writes?: number[];
}

export async function startupSection(epics: Epics, samples: number, warmups: number): Promise<Section> {
  const github = await startFakeGitHub(STARTUP_FAKE);
  try {
    return await measure(github, epics, samples, warmups);
  } finally {
    await github.close();
  }
}

async function measure(github: FakeGitHub, epics: Epics, samples: number, warmups: number): Promise<Section> {
  const builds = [{ name: "", bin: BIN }];
  if (process.env.BENCH_BEFORE) builds.push({ name: "before: ", bin: process.env.BENCH_BEFORE });
  const fixtures: StartupFixture[] = [];
  for (const { bin } of builds) fixtures.push(await startupFixture(epics, github, bin));
  const { localEnv, syncEnv, bareArgs } = fixtures[0]!;
  const variants: Variant[] = [
    { label: "node empty.mjs", samples: [], cpu: [], run: () => timeNode([EMPTY], { env: localEnv }) },
    {
      label: "node one-request.mjs (1 PATCH, fetch)",
      samples: [],
      cpu: [],
      run: () => timeNode([ONE_REQUEST, ...bareArgs], { env: syncEnv }),
    },
    ...builds.flatMap(({ name, bin }, b): Variant[] => {
      const { localDir, syncDir } = fixtures[b]!;
      return [
        {
          label: `${name}update, sync off (local run)`,
          samples: [],
          cpu: [],
          run: (i) => timeNode([bin, ...updateArgs(localDir, i)], { env: localEnv }),
        },
        {
          label: `${name}update, sync on (--min-interval 0)`,
          samples: [],
          cpu: [],
          writes: [],
          run: (i) => timeNode([bin, ...updateArgs(syncDir, i, ["--min-interval", "0"])], { env: syncEnv }),
        },
      ];
    }),
  ];

  for (let round = 0; round < warmups + samples; round++) {
    // Round-robin, starting one further each round, so that no variant always runs first.
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length]!;
      const writesBefore = github.writes.length;
      const cpuBefore = childrenCpuMs();
      const result = await variant.run(round);
      const cpu = childrenCpuMs() - cpuBefore;
      if (result.code !== 0)
        throw new Error(`${variant.label} exited ${result.code}: ${shortError(result.stderr)}`);
      if (round < warmups) continue;
      variant.samples.push(result.ms);
      variant.cpu.push(cpu);
      variant.writes?.push(github.writes.length - writesBefore);
    }
  }
  let leftOver = 0;
  for (const fixture of fixtures) leftOver += await drainFlushers(fixture.syncDir, 5_000);

  const [empty, bare, local, synced] = variants as [Variant, Variant, Variant, Variant];
  const offRatio = median(local.samples) / median(empty.samples);
  const onRatio = median(synced.samples) / median(bare.samples);
  const writes = median(synced.writes ?? []);
  const base = (variant: Variant) => (variant.writes ? bare : empty);
  const ratioTo = (variant: Variant) => median(variant.samples) / median(base(variant).samples);
  const cpuRatioTo = (variant: Variant) => mean(variant.cpu) / mean(base(variant).cpu);
  return {
    title: "1-2. Start-up (one process per call, spawn to exit, interleaved round-robin)",
    table: [
      ["command", "median", "min", "p90", "ratio", "CPU (mean)", "CPU ratio"],
      ...variants.map((v, i) => [
        v.label,
        ms(median(v.samples)),
        ms(Math.min(...v.samples)),
        ms(quantile(v.samples, 0.9)),
        i < 2 ? "" : ratio(ratioTo(v)),
        ms(mean(v.cpu)),
        i < 2 ? "" : ratio(cpuRatioTo(v)),
      ]),
    ],
    notes: [
      `node ${process.version}; ratios: update, sync off / node empty.mjs; update, sync on / node one-request.mjs`,
      "CPU: user + system time of each process (Linux), which load from other processes moves far less than wall time; the targets are on wall time",
      `GitHub writes per sync-on update: median ${writes}; background writers left after: ${leftOver}`,
    ],
    targets: [
      {
        name: "start-up, sync off (update / node empty.mjs)",
        value: ratio(offRatio),
        goal: `≤ ${STARTUP_TARGET.toFixed(2)}x`,
        pass: offRatio <= STARTUP_TARGET,
      },
      {
        name: "start-up, sync on (update / node one-request.mjs)",
        value: ratio(onRatio),
        goal: `≤ ${STARTUP_TARGET.toFixed(2)}x`,
        pass: onRatio <= STARTUP_TARGET,
      },
      {
        name: "sync-on update writes inline (1 write per call)",
        value: String(writes),
        goal: "1",
        pass: writes === 1,
      },
    ],
    readme: [
      ["`node` running an empty ES module", ms(median(empty.samples)), ""],
      [
        "`update`, sync off (local run)",
        `${ms(median(local.samples))} (${ratio(offRatio)})`,
        `≤ ${STARTUP_TARGET}x empty file`,
      ],
      ["bare ES module making one PATCH with `fetch`", ms(median(bare.samples)), ""],
      [
        "`update`, sync on, `--min-interval 0` (one PATCH)",
        `${ms(median(synced.samples))} (${ratio(onRatio)})`,
        `≤ ${STARTUP_TARGET}x bare script`,
      ],
    ],
  };
}
