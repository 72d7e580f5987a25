import { resolve } from "node:path";
import { noRunError } from "../model/run.js";
import type { RunState } from "../model/types.js";
import { storeTime } from "../store/store-time.js";
import { OneAtATime } from "../util/one-at-a-time.js";
import { type CommonOptions, createContext } from "./context.js";
import { fullScreen } from "./terminal-settings.js";
import { ANSI, changeKey, changeLine, drawFrame, frameLines } from "./watch-frames.js";

/** File-system events are gathered for this long before the state is read once. */
const DEBOUNCE_MS = 25;

export interface WatchOptions extends CommonOptions {
  interval: number;
  timeout?: number;
}

/** `watch`: a live view of the run that redraws when any process changes it, until it is finalized. */
export async function watch(options: WatchOptions): Promise<void> {
  const dir = resolve(options.dir);
  // The program's options as given (--store and --epic included), warnings only: watch writes nothing.
  const { out, reporter } = createContext(
    { ...options, dir, quiet: options.quiet ?? false, verbose: false },
    { once: false },
  );
  const store = reporter.runStore;

  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolveFinished) => {
    finish = resolveFinished;
  });
  let stopped = false;
  const stop = () => {
    stopped = true;
    finish();
  };
  let debounce: NodeJS.Timeout | null = null;
  let check: (fromPoll: boolean) => Promise<void> = async () => undefined;
  let failure: unknown = null;
  const fail = (error: unknown) => {
    failure = error;
    stop();
  };
  /** The store's change notifications, gathered for DEBOUNCE_MS before the state is read once. */
  const onChange = () => {
    if (stopped || debounce) return;
    debounce = setTimeout(() => {
      debounce = null;
      void check(false).catch(fail);
    }, DEBOUNCE_MS);
  };
  let unsubscribe: (() => Promise<void>) | null = null;
  const subscribe = async () => {
    if (unsubscribe || stopped) return;
    // Without notifications (no fs.watch here, a watcher limit), the --interval reads still see every change.
    unsubscribe = await store.subscribe(onChange).catch(() => null);
  };
  const stopListening = async () => {
    await unsubscribe?.();
    unsubscribe = null;
  };

  try {
    // Listening before the first read: a change made after it is not missed.
    await subscribe();
    const first = await reporter.load();
    if (!first) throw noRunError(reporter.place);
    await follow(first);
    if (failure) throw failure;
  } finally {
    stopped = true;
    if (debounce) clearTimeout(debounce);
    // At once: each waits a second at most on a database that does not answer (a frozen host).
    await Promise.all([stopListening(), store.close()]);
  }

  async function follow(first: RunState): Promise<void> {
    const stdout = process.stdout;
    const screen = fullScreen(process.env, stdout)
      ? // The footer names the database and epic as every message does (store.location: no password, and
        // read after the first read, once a password ~/.pgpass gave is known and masked), else the folder.
        await terminalScreen(store.database ? store.location : dir, () => storeTime(store, Date.now))
      : null;

    let state: RunState = first;
    let lastKey = "";
    let lastPrinted: RunState | null = null;
    let lastFrame = "";
    let warned = "";
    /** The latest read failed (see the read below). */
    let unreadable = false;
    /** On the full screen, a warning is its footer while it holds (written to stderr it would land inside the frame). */
    let notice: string | null = null;
    const warn = (message: string) => {
      if (screen) notice = message;
      else out.warn(message);
    };

    const present = (): boolean => {
      if (screen) {
        const frame = screen.frame(state, notice);
        if (frame !== lastFrame) stdout.write(frame);
        lastFrame = frame;
      } else if (changeKey(state) !== lastKey) {
        stdout.write(`${changeLine(state, lastPrinted, storeTime(store, Date.now))}\n`);
        lastKey = changeKey(state);
        lastPrinted = state;
      }
      return state.completedAt !== null;
    };

    // A row wider than the terminal is cut at its edge rather than wrapped, which would push the frame
    // past the terminal's rows (its header scrolled away).
    if (screen) stdout.write(`${ANSI.hideCursor}${ANSI.noWrap}`);
    const restoreCursor = () => stdout.write(`\n${ANSI.wrap}${ANSI.showCursor}`);
    if (screen) process.once("exit", restoreCursor);

    let polled = false;
    const reads = new OneAtATime(async () => {
      if (stopped) return;
      // The interval's reads also try again to listen where that failed (a database that was down).
      if (polled) await subscribe();
      polled = false;
      const next = await reporter.load().catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        // A read that its own ending cut (the store closed under it) says nothing. Printed once while the
        // run stays unreadable (a flapping link's errors differ read by read); the footer shows the latest.
        if (message !== warned && !stopped && (screen || !unreadable))
          warn(`cannot read the run: ${message}`);
        warned = message;
        unreadable = true;
        return undefined;
      });
      if (next !== undefined) unreadable = false;
      if (next === null) {
        // The store follows its folder removed and made again: the new run's changes are heard.
        if (warned !== "gone")
          warn(`the run in ${store.database ? store.location : dir} is gone: waiting for a new one`);
        warned = "gone";
      } else if (next) {
        warned = "";
        notice = null;
        state = next;
      }
      if (stopped) return;
      if (present()) stop();
    });

    /** Reads the state once more; a poll during a read is the read in progress (a change asks for one more). */
    check = (fromPoll: boolean): Promise<void> => {
      if (fromPoll && reads.busy) return Promise.resolve();
      polled ||= fromPoll;
      return reads.run();
    };

    const poll = setInterval(() => void check(true).catch(fail), options.interval);
    const timeout =
      options.timeout === undefined ? null : setTimeout(stop, Math.round(options.timeout * 1000));
    const onSignal = () => stop();
    const onResize = () => {
      if (!stopped) present();
    };
    // e.g. `watch | head -1`: the reader is gone, which a pipe says only at the next write (the next line).
    // Any other write error stops it too (a full disk: said, and exit 1, by standard-streams.ts).
    const onOutputError = () => stop();
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("SIGHUP", onSignal);
    stdout.on("error", onOutputError);
    if (screen) stdout.on("resize", onResize);

    try {
      if (present()) stop();
      await finished;
    } finally {
      clearInterval(poll);
      if (timeout) clearTimeout(timeout);
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
}

/** The full-screen view: chalk and the table renderer are loaded only for a terminal. */
async function terminalScreen(
  watching: string,
  now: () => number,
): Promise<{ frame: (state: RunState, notice: string | null) => string }> {
  const { terminalColors, terminalTable, terminalWidth } = await import("./terminal-table.js");
  const color = terminalColors();
  return {
    frame: (state, notice) => {
      const columns = terminalWidth();
      const lines = frameLines(state, {
        // `now` moves the ETA and stalled marks on between changes (a poll redraws when they change); the
        // store's clock, so a machine whose clock is off shows what the issue shows.
        table: terminalTable(state, now()),
        watching,
        rows: process.stdout.rows,
        ...(columns === undefined ? {} : { columns }),
        bold: color ? color.bold : null,
        notice,
      });
      return drawFrame(lines);
    },
  };
}
