import { namesNoAgent } from "../config/options.js";
import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import type { AgentChange } from "../queue/pending-changes.js";
import type { ParallelProgressReporter } from "../reporter.js";
import type { Context } from "./context.js";

/**
 * An agent's change (update, complete, fail, cancel, log). With the file store, the change and nothing
 * else; with a database store, through offline.ts (a bundle of its own, read only then): what this machine
 * kept while the database did not answer first, and this change kept too when it does not answer now.
 */
export async function agentChange(context: Context, change: AgentChange): Promise<void> {
  // Refused here, before a database that does not answer could have it kept (an unknown agent waits for
  // the database to say so; an empty name, or one no domain may be, never names one).
  if (namesNoAgent(change.agent)) {
    throw new UsageError(`unknown agent ${quote(change.agent)}: give an agent id or domain`);
  }
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
