import type { Command } from "commander";
import { givenEpic, wholeNumber } from "../config/options.js";
import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { type HistoryEntry, toHistoryEntry } from "../model/history.js";
import { formatDuration } from "../model/progress.js";
import { terminalChildMark } from "../render/labels.js";
import { FileRunStore } from "../store/file-store.js";
import { chooseDatabase } from "../store/open-store.js";
import { nodeFileSystem } from "../util/node-fs.js";
import { command } from "./declare.js";
import { loadPg } from "./load-pg.js";
import { createOutput } from "./output.js";

interface HistoryOptions {
  dir: string;
  store?: string;
  epic?: string;
  json?: boolean;
  limit: number;
  quiet?: boolean;
  verbose?: boolean;
}

/** Digits only, as every whole-number option takes them (`1e3`, `0x10` and `+5` refused). */
function parseLimit(value: string): number {
  const n = wholeNumber(value);
  if (n === null || n < 1 || n > 10_000) {
    throw new UsageError(`--limit must be a whole number from 1 to 10000, got ${quote(value)}`);
  }
  return n;
}

/** `history`: past runs, newest first, with each domain's duration (the database keeps them all). */
export function registerHistory(program: Command, done: (code: number) => void): void {
  command(program, "history", "past runs, newest first, with each domain's duration", (history) =>
    history
      .option("--json", "print them as a JSON array")
      .option("--limit <n>", "at most this many runs", parseLimit, 50)
      .action((options: HistoryOptions) => runHistory(options, done)),
  );
}

async function runHistory(options: HistoryOptions, done: (code: number) => void): Promise<void> {
  const out = createOutput({ quiet: options.quiet ?? false, verbose: options.verbose ?? false });
  // The epic narrows the list as it names the run of every other command: --epic, else
  // PARALLEL_PROGRESS_EPIC; neither: all epics. The file store keeps one run.
  const url = chooseDatabase(options, process.env);
  const epic = givenEpic(options.epic, process.env);
  let entries: HistoryEntry[];
  if (url) {
    const { listRuns } = await loadPg(() => import("../store/pg/history.js"));
    const { runs, damaged } = await listRuns(url, epic, options.limit);
    // Listed without it, so that one run cannot hide the others; its row can be mended with plain SQL.
    for (const problem of damaged) out.warn(`${problem}: not listed (its stored state is damaged)`);
    entries = runs.map(toHistoryEntry);
  } else {
    const state = await new FileRunStore(nodeFileSystem(), options.dir).read();
    entries =
      state && (epic === null || state.epicId.normalize("NFC") === epic) ? [toHistoryEntry(state)] : [];
  }
  if (options.json) out.data(JSON.stringify(entries, null, 2));
  else for (const entry of entries) out.data(historyLines(entry));
  done(0);
}

const duration = (ms: number | null) => (ms === null ? "-" : formatDuration(ms));

function historyLines(entry: HistoryEntry): string {
  const head = [
    entry.startedAt,
    entry.epicId,
    entry.runId,
    entry.status === "active" ? "active" : duration(entry.durationMs),
    ...(entry.status === "abandoned" ? ["abandoned"] : []),
  ];
  // A child under its parent, marked as in status's table: `└ api`, two more spaces per level below.
  const agents = entry.agents.map(
    (a) => `  ${terminalChildMark(a.depth)}${a.domain}\t${a.status}\t${duration(a.durationMs)}`,
  );
  return [head.join("\t"), ...agents].join("\n");
}
