import type { Epics } from "./lib/epic.js";
import { choosePlacement, type FakeHandle, pinSelf, startFake } from "./lib/placement.js";
import { BIN, drainFlushers, EMPTY, ONE_REQUEST, shortError, type Timed, timeNode } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { STARTUP_FAKE, startupFixture } from "./lib/startup-fixture.js";
import { median, ms, quantile, ratio } from "./lib/stats.js";
import { startupBreakdown } from "./startup-breakdown.js";

/** Items 1 and 2 of the benchmark: CLI start-up against its two baselines, interleaved round-robin. */

export const STARTUP_TARGET = 1.3;

interface Variant {
  label: string;
  run(i: number): Promise<Timed>;
  samples: number[];
  /** Called before each run and after each measured one, outside the timing (to count its requests). */
  before?: () => Promise<void>;
  after?: () => Promise<void>;
}

export async function startupSections(epics: Epics, samples: number, warmups: number): Promise<Section[]> {
  const placement = choosePlacement();
  const github = await startFake(STARTUP_FAKE, placement?.serverCpu ?? null);
  const pinned = placement !== null && pinSelf(String(placement.measuredCpu));
  const where = pinned
    ? `placement: fake GitHub on ${github.where}; this process and every timed one on CPU ${placement.measuredCpu} (taskset)`
    : `placement: none (needs Linux, 2 CPUs and taskset); fake GitHub in ${github.where}`;
  try {
    return await measure(github, epics, samples, warmups, where);
  } finally {
    if (pinned) pinSelf(placement.before);
    await github.close();
  }
}

async function measure(
  github: FakeHandle,
  epics: Epics,
  samples: number,
  warmups: number,
  where: string,
): Promise<Section[]> {
  const {
    localEnv,
    syncEnv,
    localDir,
    syncDir,
    bareArgs,
    updateArgs: args,
  } = await startupFixture(epics, github);

  const perUpdate: { requests: number; writes: number }[] = [];
  let before = { requests: 0, writes: 0 };
  // Each call changes the files count, so a sync-on update always has something to write.
  const updateArgs = (dir: string, extra: string[]) => (i: number) => args(dir, `${i % 7}/7`, extra);
  const variants: Variant[] = [
    { label: "node empty.mjs", samples: [], run: () => timeNode([EMPTY.mjs], { env: localEnv }) },
    { label: "node empty.cjs", samples: [], run: () => timeNode([EMPTY.cjs], { env: localEnv }) },
    {
      label: "update, sync off (local run)",
      samples: [],
      run: (i) => timeNode([BIN, ...updateArgs(localDir, [])(i)], { env: localEnv }),
    },
    {
      label: "node one-request.mjs (1 PATCH)",
      samples: [],
      run: () => timeNode([ONE_REQUEST.mjs, ...bareArgs], { env: syncEnv }),
    },
    {
      label: "node one-request.cjs (1 PATCH)",
      samples: [],
      run: () => timeNode([ONE_REQUEST.cjs, ...bareArgs], { env: syncEnv }),
    },
    {
      label: "update, sync on (--min-interval 0)",
      samples: [],
      before: async () => {
        const [requests, writes] = await github.counts();
        before = { requests, writes };
      },
      run: (i) => timeNode([BIN, ...updateArgs(syncDir, ["--min-interval", "0"])(i)], { env: syncEnv }),
      after: async () => {
        const [requests, writes] = await github.counts();
        perUpdate.push({ requests: requests - before.requests, writes: writes - before.writes });
      },
    },
  ];

  const rounds = warmups + samples;
  for (let round = 0; round < rounds; round++) {
    // Round-robin, starting one further each round, so neither side of a ratio always runs first.
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length]!;
      await variant.before?.();
      const result = await variant.run(round);
      if (result.code !== 0) {
        throw new Error(`${variant.label} exited ${result.code}: ${shortError(result.stderr)}`);
      }
      if (round >= warmups) {
        variant.samples.push(result.ms);
        await variant.after?.();
      }
    }
  }
  const leftOver = await drainFlushers(syncDir, 5_000);
  const [emptyMjs, emptyCjs, local, bareMjs, bareCjs, synced] = variants.map((v) => v.samples) as [
    number[],
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  // Each ratio against the faster of its baseline's two module kinds: the stricter reading of the target.
  const faster = (a: number[], b: number[]) => (median(a) <= median(b) ? a : b);
  const empty = faster(emptyMjs, emptyCjs);
  const bare = faster(bareMjs, bareCjs);
  const emptyName = empty === emptyCjs ? "empty.cjs" : "empty.mjs";
  const bareName = bare === bareCjs ? "one-request.cjs" : "one-request.mjs";
  const offRatio = median(local) / median(empty);
  const onRatio = median(synced) / median(bare);
  const requests = median(perUpdate.map((u) => u.requests));
  const maxRequests = Math.max(...perUpdate.map((u) => u.requests));
  const writes = median(perUpdate.map((u) => u.writes));

  // When a start-up target fails, say where the time goes (same fixtures, same server).
  const breakdown =
    offRatio <= STARTUP_TARGET && onRatio <= STARTUP_TARGET
      ? []
      : [
          await startupBreakdown(
            [
              { label: "sync off", args: updateArgs(localDir, []), env: localEnv },
              { label: "sync on", args: updateArgs(syncDir, ["--min-interval", "0"]), env: syncEnv },
            ],
            Math.max(5, Math.round(samples * 0.6)),
          ),
        ];
  await drainFlushers(syncDir, 5_000);

  const table = [
    ["command", "median", "min", "p90", "samples"],
    ...variants.map((v) => [
      v.label,
      ms(median(v.samples)),
      ms(Math.min(...v.samples)),
      ms(quantile(v.samples, 0.9)),
      String(v.samples.length),
    ]),
  ];
  const section: Section = {
    title: "1-2. Start-up (one process per call, spawn to exit, interleaved round-robin)",
    table,
    notes: [
      `ratio sync off: update / node ${emptyName} (the faster empty file) = ${ratio(offRatio)} (+${ms(median(local) - median(empty))}); / the other: ${ratio(median(local) / median(empty === emptyCjs ? emptyMjs : emptyCjs))}`,
      `ratio sync on:  update / node ${bareName} (the faster bare script) = ${ratio(onRatio)} (+${ms(median(synced) - median(bare))}); / the other: ${ratio(median(synced) / median(bare === bareCjs ? bareMjs : bareCjs))}`,
      `paired (median of each round's ratio, a cross-check that cancels drifts in machine speed): sync off ${ratio(pairedMedian(local, empty))}, sync on ${ratio(pairedMedian(synced, bare))}`,
      where,
      `requests per sync-on update: median ${requests}, max ${maxRequests} (writes: median ${writes}); background writers left after: ${leftOver}`,
    ],
    targets: [
      {
        name: `start-up, sync off (update / node ${emptyName})`,
        value: ratio(offRatio),
        goal: `≤ ${STARTUP_TARGET.toFixed(2)}x`,
        pass: offRatio <= STARTUP_TARGET,
      },
      {
        name: `start-up, sync on (update / node ${bareName})`,
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
      [`\`node\` running an empty file (${emptyName}, the faster kind)`, ms(median(empty)), ""],
      [
        "`update`, sync off (local run)",
        `${ms(median(local))} (${ratio(offRatio)})`,
        `≤ ${STARTUP_TARGET}x empty file`,
      ],
      [`bare Node script, one PATCH to the fake (${bareName}, the faster kind)`, ms(median(bare)), ""],
      [
        "`update`, sync on, `--min-interval 0` (one PATCH)",
        `${ms(median(synced))} (${ratio(onRatio)})`,
        `≤ ${STARTUP_TARGET}x bare script`,
      ],
    ],
  };
  return [section, ...breakdown];
}

/** The median of a[i] / b[i], the two measured in the same round. */
function pairedMedian(a: readonly number[], b: readonly number[]): number {
  return median(a.map((value, i) => value / b[i]!));
}
