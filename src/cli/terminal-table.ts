import chalk from "chalk";
import type { RunState } from "../model/types.js";
import { type Colors, renderTerminalTable } from "../render/terminal.js";
import { colorLevel } from "./terminal-settings.js";

/**
 * The run as a coloured table for `status` and `watch` (colour as chalk detects it, with NO_COLOR:
 * terminal-settings.ts). Loaded with import() where a table is drawn, so that chalk is read only then.
 */
export function terminalColors(env: NodeJS.ProcessEnv = process.env): Colors | null {
  return colorLevel(chalk.level, env) > 0 ? chalk : null;
}

export function terminalTable(state: RunState, now: number): string {
  return renderTerminalTable(state, {
    color: terminalColors(),
    width: process.stdout.columns ?? 100,
    now,
  });
}
