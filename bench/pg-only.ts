// `npm run bench:pg`: only the PostgreSQL store section (issue 12), with its targets.
import { Epics } from "./lib/epic.js";
import { printSection, textTable, verdict } from "./lib/report.js";
import { pgSection } from "./pg.js";

const epics = new Epics();
try {
  const section = await pgSection(epics, Number(process.env.BENCH_SAMPLES) || 20);
  printSection(section);
  const rows = section.targets.map((t) => [t.name, t.value, t.goal, verdict(t)]);
  process.stdout.write(`\n${textTable([["target", "measured", "goal", "result"], ...rows])}\n`);
  process.exitCode = section.targets.every((t) => t.pass || t.informational) ? 0 : 1;
} finally {
  await epics.cleanup();
}
