import type { RunState } from "../model/types.js";
import type { Step } from "./syncer-types.js";

/** The body to post; the renderer is loaded only when a write happens (start-up time). */
export async function renderBody(state: RunState, step: Step, now: number): Promise<string> {
  const { renderFinalComment, renderProgressComment } = await import("./client-and-renderer.js");
  return step === "progress" ? renderProgressComment(state, { now }) : renderFinalComment(state, { now });
}
