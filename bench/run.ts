// `npm run bench [-- <section>...]`: start-up ratios, a rate-limited burst, the 1,000-agent update cost,
// memory over a long run, the PostgreSQL store and the live page in chromium, all measured in one run on
// this machine (or only the sections named: startup, burst, scale, memory, pg, serve). Prints tables, a
// PASS/FAIL per target and a markdown table for the README; exits 1 when a (non-informational) target fails.
import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { burstSection } from "./burst.js";
import { Epics } from "./lib/epic.js";
import { markdownTable, printSection, type Section, type Target, textTable, verdict } from "./lib/report.js";
import { memorySection } from "./memory.js";
import { pgSection } from "./pg.js";
import { scaleSection } from "./scale.js";
import { serveSection } from "./serve.js";
import { startupSection } from "./startup.js";

/** Samples per variant after the warm-ups (40: start-up ratios on this noisy machine need them); BENCH_SAMPLES overrides (bounded to 5..60). */
const SAMPLES = Math.min(60, Math.max(5, Number(process.env.BENCH_SAMPLES) || 40));
const WARMUPS = 2;

const started = performance.now();
const epics = new Epics();
const sections: Section[] = [];
const targets: Target[] = [];

process.stdout.write(
  `parallel-progress benchmark: node ${process.version}, ${availableParallelism()} CPUs, ${SAMPLES} samples after ${WARMUPS} warm-ups\n`,
);

const all: [string, () => Promise<Section>][] = [
  ["startup", () => startupSection(epics, SAMPLES, WARMUPS)],
  ["burst", () => burstSection(epics)],
  ["scale", () => scaleSection(epics, Math.max(5, Math.round(SAMPLES * 0.75)), WARMUPS)],
  ["memory", () => memorySection()],
  ["pg", () => pgSection(epics, Math.max(10, Math.round(SAMPLES / 2)))],
  ["serve", () => serveSection(epics, Math.max(10, Math.round(SAMPLES / 2)), 5)],
];
const named = process.argv.slice(2);
const steps = named.length === 0 ? all : all.filter(([name]) => named.includes(name));

try {
  for (const [name, step] of steps) {
    try {
      const section = await step();
      sections.push(section);
      targets.push(...section.targets);
      printSection(section);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stdout.write(`\n## ${name}: could not be measured\n${message}\n`);
      targets.push({ name: `${name}: measured`, value: "error", goal: "runs", pass: false });
    }
  }
} finally {
  await epics.cleanup();
}

process.stdout.write("\n## Targets\n");
process.stdout.write(
  `${textTable([["target", "measured", "goal", "result"], ...targets.map((t) => [t.name, t.value, t.goal, verdict(t)])])}\n`,
);

const readme = sections.flatMap((section) => section.readme);
process.stdout.write("\n## For the README (paste as is)\n\n");
process.stdout.write(`${markdownTable([["Measure", "Result", "Target"], ...readme])}\n`);

const failed = targets.filter((t) => !t.pass && !t.informational);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stdout.write(
  `\n${failed.length === 0 ? "PASS" : `FAIL (${failed.length} target${failed.length === 1 ? "" : "s"})`} in ${seconds} s\n`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
