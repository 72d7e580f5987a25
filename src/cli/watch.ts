import { type FSWatcher, watch as watchDirectory } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import type { RunState } from "../model/types.js";
import { statePaths } from "../store/file-store.js";
import { createContext } from "./common.js";
import { ANSI, changeKey, changeLine, drawFrame, frameLines } from "./watch-frames.js";

/** File-system events are gathered for this long before the state is read once. */
const DEBOUNCE_MS = 25;

export interface WatchOptions {
  dir: string;
  interval: number;
  timeout?: number;
  quiet?: boolean;
}

/** `watch`: a live view of the run that redraws when any process changes it, until it is finalized. */
export async function watch(options: WatchOptions): Promise<void> {
  const dir = resolve(options.dir);
  const { out, reporter } = createContext({ dir, quiet: options.quiet ?? false });
  const paths = statePaths(dir);
  // The file's identity before the first read: a change made after it is seen by the next poll at the latest.
  let lastSignature: string | null = await signature(paths.state);
  const first = await reporter.load();
  if (!first) {
    throw new UsageError(
      `no run in ${dir}: start one with \`parallel-progress init --epic <id> --domains <a,b,c>\`, or pass --dir`,
    );
  }

  const stdout = process.stdout;
  const tty = stdout.isTTY === true;
  const screen = tty ? await terminalScreen(dir) : null;

  let state: RunState = first;
  let lastKey = "";
  let lastPrinted: RunState | null = null;
  let lastFrame = "";
  let warned = "";

  const present = (): boolean => {
    if (screen) {
      const frame = screen.frame(state);
      if (frame !== lastFrame) stdout.write(frame);
      lastFrame = frame;
    } else if (changeKey(state) !== lastKey) {
      stdout.write(`${changeLine(state, lastPrinted)}\n`);
      lastKey = changeKey(state);
      lastPrinted = state;
    }
    return state.completedAt !== null;
  };

  if (screen) stdout.write(ANSI.hideCursor);
  const restoreCursor = () => stdout.write(`\n${ANSI.showCursor}`);
  if (screen) process.once("exit", restoreCursor);

  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolveFinished) => {
    finish = resolveFinished;
  });
  let stopped = false;
  const stop = () => {
    stopped = true;
    finish();
  };

  let watcher: FSWatcher | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let busy = false;
  let again = false;

  /** Reads the state once more; a request while a read runs is served by another read right after. */
  const check = async (fromPoll: boolean): Promise<void> => {
    if (busy) {
      again ||= !fromPoll;
      return;
    }
    busy = true;
    try {
      let polled = fromPoll;
      do {
        again = false;
        const current = await signature(paths.state);
        // A poll with nothing new only redraws (times in the table move on); an event always reads.
        if (!polled || current !== lastSignature) {
          lastSignature = current;
          const next = await reporter.load().catch((error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            if (message !== warned) out.warn(`cannot read the run: ${message}`);
            warned = message;
            return undefined;
          });
          if (next === null) {
            stopWatcher(); // the folder may be gone with the file: the next poll watches the new one
            if (warned !== "gone") out.warn(`the run in ${dir} is gone: waiting for a new one`);
            warned = "gone";
          } else if (next) {
            warned = "";
            state = next;
          }
        }
        if (stopped) return;
        if (present()) stop();
        polled = false;
      } while (again && !stopped);
    } finally {
      busy = false;
    }
  };

  const onEvent = (_event: string, filename: string | Buffer | null) => {
    // The state is replaced by rename into the directory; the lock and temporary files come and go too.
    if (filename !== null && String(filename) !== "state.json") return;
    if (stopped || debounce) return;
    debounce = setTimeout(() => {
      debounce = null;
      void check(false).catch(fail);
    }, DEBOUNCE_MS);
  };

  let failure: unknown = null;
  const fail = (error: unknown) => {
    failure = error;
    stop();
  };

  const stopWatcher = () => {
    watcher?.close();
    watcher = null;
  };
  const startWatcher = () => {
    if (watcher || stopped) return;
    try {
      watcher = watchDirectory(paths.dir, { persistent: true }, onEvent);
      watcher.on("error", stopWatcher);
    } catch {
      watcher = null; // the directory is missing, or no fs.watch here: polling still sees every change
    }
  };

  const poll = setInterval(() => {
    startWatcher();
    void check(true).catch(fail);
  }, options.interval);
  const timeout = options.timeout === undefined ? null : setTimeout(stop, Math.round(options.timeout * 1000));
  const onSignal = () => stop();
  const onResize = () => {
    if (!stopped) present();
  };
  const onOutputError = () => stop(); // e.g. `watch | head -1`: the reader is gone
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  stdout.on("error", onOutputError);
  if (screen) stdout.on("resize", onResize);

  try {
    startWatcher();
    if (present()) stop();
    await finished;
    if (failure) throw failure;
  } finally {
    stopped = true;
    clearInterval(poll);
    if (timeout) clearTimeout(timeout);
    if (debounce) clearTimeout(debounce);
    stopWatcher();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    stdout.off("error", onOutputError);
    if (screen) {
      stdout.off("resize", onResize);
      process.off("exit", restoreCursor);
      restoreCursor();
    }
  }
}

/** The full-screen view: chalk and the table renderer are loaded only for a terminal. */
async function terminalScreen(dir: string): Promise<{ frame: (state: RunState) => string }> {
  const [{ default: chalk }, { renderTerminalTable }] = await Promise.all([
    import("chalk"),
    import("../render/terminal.js"),
  ]);
  const color = chalk.level > 0 ? chalk : null;
  return {
    frame: (state) => {
      const columns = process.stdout.columns;
      const lines = frameLines(state, {
        // `now` moves the ETA and stalled marks on between changes (a poll redraws when they change).
        table: renderTerminalTable(state, { color, width: columns ?? 100, now: Date.now() }),
        dir,
        rows: process.stdout.rows,
        columns,
        bold: color ? color.bold : null,
      });
      return drawFrame(lines);
    },
  };
}

/** Identity of the state file's current version (the file is replaced, not rewritten), or null. */
async function signature(path: string): Promise<string | null> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  } catch {
    return null;
  }
}
