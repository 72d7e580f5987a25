import type { Env } from "../config/resolve.js";

/**
 * How `status` and `watch` draw, decided from the environment and what chalk detected. Pure: the caller
 * (terminal-table.ts, the CLI's edge) passes `process.env` in.
 */

/**
 * The colour level to draw with (0: none), given chalk's detection (`chalk.level`). chalk 5 reads
 * FORCE_COLOR, TERM and whether stdout is a terminal, not NO_COLOR; so, as no-color.org asks, NO_COLOR set
 * to a non-empty value turns colour off, and FORCE_COLOR, when set, wins over it, as in Node's own
 * `tty.WriteStream.getColorDepth()` (`FORCE_COLOR=1 NO_COLOR=1`: colour; `FORCE_COLOR=0`: none).
 */
export function colorLevel(detected: number, env: Env): number {
  if (env.FORCE_COLOR !== undefined) return detected;
  return env.NO_COLOR ? 0 : detected;
}

/**
 * The width the table is fitted to: COLUMNS when it is a positive whole number (read first, as Python's
 * `shutil.get_terminal_size` does: `COLUMNS=200 parallel-progress status`), else the terminal's when stdout
 * is one, else none: output piped or redirected (`status | cat`, a file, a CI log) is never cut.
 */
export function tableWidth(env: Env, stdout: { isTTY?: boolean; columns?: number }): number | undefined {
  const given = env.COLUMNS?.trim() ?? "";
  if (/^\d+$/.test(given) && Number(given) > 0) return Number(given);
  return stdout.isTTY && stdout.columns !== undefined && stdout.columns > 0 ? stdout.columns : undefined;
}

/**
 * Whether `watch` draws its full-screen view (cursor moves, a frame redrawn in place): on a terminal that
 * can move the cursor. `TERM=dumb` (Emacs' shell, some CI consoles) cannot: the plain line per change.
 */
export function fullScreen(env: Env, stdout: { isTTY?: boolean }): boolean {
  return stdout.isTTY === true && env.TERM !== "dumb";
}
