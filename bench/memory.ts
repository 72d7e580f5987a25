import { join } from "node:path";
import { cleanEnv, ROOT, runNode, shortError } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { mib, ms } from "./lib/stats.js";

/** Item 5: heap after GC over a long in-process run (a child with --expose-gc, so GC is real). */

export const MEMORY_TARGET = 0.1;
const UPDATES = 3_000;
const AGENTS = 50;
const LIMIT_MS = 120_000;

interface WorkerReport {
  gc: boolean;
  updates: number;
  agents: number;
  ms: number;
  heap: { updates: number; heapUsed: number }[];
}

export async function memorySection(): Promise<Section> {
  const report = await runWorker();
  const first = report.heap.find((h) => h.updates === 500);
  const last = report.heap.at(-1);
  if (!first || !last) throw new Error("the memory worker reported no heap samples");
  const growth = (last.heapUsed - first.heapUsed) / first.heapUsed;
  const percent = `${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(1)}%`;
  return {
    title: `5. Memory: ${report.updates.toLocaleString("en")} in-process updates across ${report.agents} agents (local run)`,
    table: [
      ["after updates", "heapUsed after GC"],
      ...report.heap.map((h) => [h.updates.toLocaleString("en"), mib(h.heapUsed)]),
    ],
    notes: [
      report.gc
        ? "GC forced before each sample (--expose-gc)"
        : "global.gc unavailable: samples taken without a forced GC",
      `one in-process update: ${ms(report.ms / report.updates)} on average (lock + atomic state write)`,
      `growth from 500 to ${report.updates.toLocaleString("en")} updates: ${percent}`,
    ],
    targets: [
      {
        name: `memory: heap growth 500 → ${report.updates.toLocaleString("en")} updates`,
        value: percent,
        goal: `≤ +${MEMORY_TARGET * 100}%`,
        pass: growth <= MEMORY_TARGET,
      },
    ],
    readme: [
      [
        `heap after GC, 500 → ${report.updates.toLocaleString("en")} updates (in-process)`,
        `${mib(first.heapUsed)} → ${mib(last.heapUsed)} (${percent})`,
        `≤ +${MEMORY_TARGET * 100}%`,
      ],
    ],
  };
}

async function runWorker(): Promise<WorkerReport> {
  const { code, stdout, stderr } = await runNode(
    [
      "--expose-gc",
      "--import",
      "tsx",
      join(ROOT, "bench", "memory-worker.ts"),
      String(UPDATES),
      String(AGENTS),
    ],
    cleanEnv(),
    LIMIT_MS,
  );
  const line = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || line === "") throw new Error(`memory worker exited ${code}: ${shortError(stderr)}`);
  return JSON.parse(line) as WorkerReport;
}
