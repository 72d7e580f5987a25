import type { AgentChange } from "../queue/pending-changes.js";
import type { ParallelProgressReporter } from "../reporter.js";
import type { Context } from "./context.js";

/**
 * An agent's change (update, complete, fail, cancel, log). With the file store, the change and nothing
 * else; with a database store, through offline.ts (a bundle of its own, read only then): what this machine
 * kept while the database did not answer first, and this change kept too when it does not answer now.
 */
export async function agentChange(context: Context, change: AgentChange): Promise<void> {
  const { store, reporter } = context;
  if (!store) return applyAgentChange(reporter, change);
  const { storeAgentChange } = await import("./offline.js");
  await storeAgentChange(context, store, change);
}

/** The reporter's call for `change`. */
export function applyAgentChange(reporter: ParallelProgressReporter, change: AgentChange): Promise<void> {
  switch (change.kind) {
    case "update":
      return reporter.updateAgentProgress(
        change.agent,
        change.status,
        change.filesCompleted,
        change.filesTotal,
        change.metrics,
      );
    case "complete":
      return reporter.markAgentComplete(change.agent, change.summary, change.metrics);
    case "fail":
      return reporter.markAgentFailed(change.agent, change.error, change.metrics);
    case "cancel":
      return reporter.cancelAgent(change.agent, change.reason, change.metrics);
    case "log":
      return reporter.logAgentEvent(change.agent, change.message);
  }
}
