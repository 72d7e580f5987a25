import type { RunState } from "../model/types.js";
import type { Step } from "./syncer-types.js";

/**
 * The body to post or queue; the renderer is loaded only when a write happens (start-up time). Rendered
 * from the run as `maskState` gives it (SyncDeps.maskState), before any text is cut to fit a cell.
 */
export async function renderBody(
  given: RunState,
  step: Step,
  now: number,
  maskState?: (state: RunState) => Promise<RunState>,
): Promise<string> {
  const state = maskState ? await maskState(given) : given;
  const { renderFinalComment, renderProgressComment } = await import("./client-and-renderer.js");
  return step === "progress" ? renderProgressComment(state, { now }) : renderFinalComment(state, { now });
}
