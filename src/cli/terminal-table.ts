import chalk from "chalk";
import type { RunState } from "../model/types.js";
import { type Colors, renderTerminalTable } from "../render/terminal.js";
import { colorLevel, tableWidth } from "./terminal-settings.js";

/**
 * The run as a coloured table for `status` and `watch`: colour as chalk detects it, with NO_COLOR, and
 * the width from COLUMNS or the terminal (terminal-settings.ts). Loaded with import() where a table is
 * drawn, so that chalk is read only then.
 */
export function terminalColors(env: NodeJS.ProcessEnv = process.env): Colors | null {
  return colorLevel(chalk.level, env) > 0 ? chalk : null;
}

/** The columns to fit to, or undefined for no limit. */
export function terminalWidth(env: NodeJS.ProcessEnv = process.env): number | undefined {
  return tableWidth(env, process.stdout);
}

export function terminalTable(state: RunState, now: number): string {
  const width = terminalWidth();
  return renderTerminalTable(state, {
    color: terminalColors(),
    ...(width === undefined ? {} : { width }),
    now,
  });
}
