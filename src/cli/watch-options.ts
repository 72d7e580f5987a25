import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";

// `watch`'s options, parsed by commander in main.cjs: apart from watch-frames.ts, whose rendering (and the
// terminal width tables it loads) only `watch` needs.

export const DEFAULT_WATCH_INTERVAL_MS = 500;
const MIN_WATCH_INTERVAL_MS = 50;
const MAX_WATCH_INTERVAL_MS = 60_000;

/** `--interval <ms>`: how often the run is read besides its change notifications. */
export function parseWatchInterval(value: string): number {
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!(ms >= MIN_WATCH_INTERVAL_MS && ms <= MAX_WATCH_INTERVAL_MS)) {
    throw new UsageError(
      `--interval must be a whole number of milliseconds from ${MIN_WATCH_INTERVAL_MS} to ${MAX_WATCH_INTERVAL_MS}, got ${quote(value)}`,
    );
  }
  return ms;
}

/** The longest `--timeout`, in seconds (about 23 days: Node's timers hold at most 2^31 - 1 ms). */
const MAX_WATCH_TIMEOUT_S = 2_000_000;

/** `--timeout <s>`: seconds (decimals allowed) after which watching stops, greater than 0. */
export function parseWatchTimeout(value: string): number {
  const trimmed = value.trim();
  const seconds = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!(seconds > 0 && seconds <= MAX_WATCH_TIMEOUT_S)) {
    throw new UsageError(
      `--timeout must be a number of seconds greater than 0 and at most ${MAX_WATCH_TIMEOUT_S}, e.g. 30, got ${quote(value)}`,
    );
  }
  return seconds;
}
