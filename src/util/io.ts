import type * as nodeFs from "node:fs";

/** The synchronous methods of `fs` the library calls (FileSystem: the compiler holds the list to them). */
type SyncMethod =
  | "existsSync"
  | "lstatSync"
  | "mkdirSync"
  | "readFileSync"
  | "readdirSync"
  | "readlinkSync"
  | "renameSync"
  | "rmSync"
  | "rmdirSync"
  | "statSync"
  | "utimesSync"
  | "watch"
  | "writeFileSync";

/** The methods of `fs.promises` the library calls. */
type PromiseMethod =
  | "chmod"
  | "chown"
  | "link"
  | "lstat"
  | "readFile"
  | "readdir"
  | "realpath"
  | "rename"
  | "rm"
  | "stat"
  | "writeFile";

/** The file system the library uses: the part of Node's `fs` module it calls, typed as Node's. */
export type FileSystem = Pick<typeof nodeFs, SyncMethod> & {
  promises: Pick<typeof nodeFs.promises, PromiseMethod>;
};

/**
 * A file system a caller gives (ReporterOptions.fs): any object with the methods FileSystem has, as
 * Node's `fs` and memfs's (`createFsFromVolume(vol)`, `memfs().fs`) do. Only their names are checked:
 * memfs types its methods otherwise than Node (its stats' bigint fields may be undefined), and works the
 * same for the calls the library makes (its tests run on it).
 */
export type FileSystemLike = { [K in SyncMethod]: (...args: never[]) => unknown } & {
  promises: { [K in PromiseMethod]: (...args: never[]) => unknown };
};

/** The clock, injected so tests can control time. Epoch milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Whether `value` is a time a Date holds: epoch milliseconds within ±8.64e15 (ISO times are made of it). */
export const isDateMs = (value: unknown): value is number =>
  typeof value === "number" && Math.abs(value) <= 8.64e15;

/**
 * Monotonic milliseconds, with fractions, as performance.now() gives them, from process.hrtime: Node
 * defines the global `performance` lazily, and reading it loads perf_hooks (eleven internal modules,
 * about 1 ms of every CLI call, measured by `npm run bench:startup`).
 */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** How far behind real time atLeastRealTime lets a clock fall before it moves on without it. */
export const REAL_TIME_SLACK_MS = 1000;

/**
 * `clock`, never more than REAL_TIME_SLACK_MS slower than real time: the clock of deadlines, waits and
 * lifetimes, which a frozen or slow injected clock must not stretch (a test's `{ now: () => fixed }` would
 * otherwise keep a call waiting for a write that never falls due, and its process alive). It is `clock`
 * while that keeps up with real time (`elapsed`: monotonicMs), a test's clock that jumps
 * ahead included; once `clock` has stood still (or gone back) for more than the slack, it moves on with
 * real time from there. Read at its first use, not made (a clock given to the library is checked then).
 * Whole milliseconds, as `clock`'s are (monotonicMs has fractions): its times become timer delays,
 * such as a request's timeout, which AbortSignal.timeout takes whole only.
 */
export function atLeastRealTime(clock: Clock, elapsed: () => number = monotonicMs): Clock {
  /** Real time's line, never more than the slack behind `clock`. */
  let floor = Number.NEGATIVE_INFINITY;
  let at = Number.NaN;
  return {
    now: () => {
      const now = clock.now();
      const real = elapsed();
      floor = Math.max(Number.isNaN(at) ? floor : floor + (real - at), now - REAL_TIME_SLACK_MS);
      at = real;
      return Math.floor(Math.max(now, floor));
    },
  };
}
