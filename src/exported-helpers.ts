import { checkRenderArguments } from "./api-arguments.js";
import { quote } from "./config/show-value.js";
import { UsageError } from "./errors.js";
import { percent as percentOf } from "./model/progress.js";
import type { RunState } from "./model/types.js";
import {
  renderFinalComment as finalComment,
  renderProgressComment as progressComment,
  type RenderOptions,
} from "./render/progress-comment.js";

/**
 * The pure helpers the package exports, with their arguments checked at the API boundary, as the
 * reporter's methods are: a caller's wrong value is a UsageError naming the function, the parameter and
 * the value, never a TypeError from inside. The sync path and the CLI call the unchecked ones (render/,
 * model/progress.ts) directly: their states are the store's, checked when read.
 */

/** The progress comment of `state` (a RunState: `reporter.executionState`, a state file's JSON). */
export function renderProgressComment(state: RunState, options?: RenderOptions): string {
  return progressComment(...checkRenderArguments("renderProgressComment", [state, options]));
}

/** The final summary comment of `state`: its progress comment, then the final summary. */
export function renderFinalComment(state: RunState, options?: RenderOptions): string {
  return finalComment(...checkRenderArguments("renderFinalComment", [state, options]));
}

/**
 * Integer percent of `done` out of `total` (see model/progress.ts): out-of-range counts are clamped
 * (5 of 3 → 100, -1 of 3 → 0, 1 of 0 → 0), but a value that is no finite number (NaN, Infinity, a
 * string) is a caller's mistake, not 0%.
 */
export function percent(done: number, total: number): number {
  for (const [name, value] of [
    ["done", done],
    ["total", total],
  ] as const) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new UsageError(`percent: ${name} must be a finite number, got ${quote(value)}`);
    }
  }
  return percentOf(done, total);
}
