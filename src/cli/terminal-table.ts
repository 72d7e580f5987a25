import chalk from "chalk";
import type { RunState } from "../model/types.js";
import { renderTerminalTable } from "../render/terminal.js";

/**
 * The run as a coloured table for `status` and `watch` (colour as chalk decides: NO_COLOR, no TTY).
 * Loaded with import() where a table is drawn, so that chalk is read only then.
 */
export const color = chalk.level > 0 ? chalk : null;

export function terminalTable(state: RunState, now: number): string {
  return renderTerminalTable(state, { color, width: process.stdout.columns ?? 100, now });
}
