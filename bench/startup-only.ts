// `npm run bench -- --startup` style quick check: only the start-up sections (used while tuning).
import { Epics } from "./lib/epic.js";
import { printSection } from "./lib/report.js";
import { startupSections } from "./startup.js";

const epics = new Epics();
try {
  for (const section of await startupSections(epics, Number(process.env.BENCH_SAMPLES) || 40, 2)) {
    printSection(section);
    for (const row of section.readme) process.stdout.write(`| ${row.join(" | ")} |\n`);
  }
} finally {
  await epics.cleanup();
}
