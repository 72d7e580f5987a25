import { StoreConfigError, StoreUnavailableError, UsageError } from "../errors.js";
import { type AgentChange, PendingChanges } from "../queue/pending-changes.js";
import type { ParallelProgressReporter } from "../reporter.js";
import { statePaths } from "../store/file-store.js";
import { nodeFileSystem } from "../util/node-fs.js";
import { randomHex } from "../util/random.js";
import type { Context } from "./common.js";

/**
 * An agent's change (update, complete, fail, cancel, log). With a database store, changes this machine kept
 * while the database did not answer are applied first, in order and once each; and when the database does
 * not answer now, this change is kept on disk too (`--dir`), with one warning: the call still succeeds.
 */
export async function agentChange(context: Context, change: AgentChange): Promise<void> {
  const { store, reporter } = context;
  if (!store) {
    await applyChange(reporter, change);
    return;
  }
  const pending = new PendingChanges(nodeFileSystem(), statePaths(reporter.directory).dir);
  const id = randomHex(32); // node:crypto is not loaded on this path (start-up time)
  try {
    await replayPending(context, pending);
    await store.correlate(id, false);
    await applyChange(reporter, change);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    pending.add({ id, epicId: store.epicId, madeAt: Date.now(), change });
    const waiting = pending.names().length;
    context.out.warn(
      `${error.message}: the change is kept in ${pending.dir} (${waiting} waiting) and applied when the database answers (by the background writer, the next call, retry or finalize)`,
    );
    // A background writer waits for the database and applies what is kept (one per machine: see runFlush).
    await context.startBackgroundWriter();
  }
}

/**
 * Applies the changes kept on this machine for this epic, oldest first. A change the run already holds
 * (applied by another process, or committed before its answer was lost) is skipped by its correlation id;
 * one the run refuses (its agent is gone) is set aside with a warning. Stops at the first change the
 * database does not take (StoreUnavailableError propagates). Resolves to the number applied.
 */
export async function replayPending(context: Context, given?: PendingChanges): Promise<number> {
  const { store, reporter, out } = context;
  if (!store) return 0;
  const pending = given ?? new PendingChanges(nodeFileSystem(), statePaths(reporter.directory).dir);
  let applied = 0;
  for (const name of pending.names()) {
    const item = pending.read(name);
    if (!item || item.epicId !== store.epicId) continue;
    await store.correlate(item.id, true);
    try {
      await applyChange(reporter, item.change);
      applied++;
    } catch (error) {
      // A refused change (its agent is gone) is set aside; a wrong database setting refuses nothing.
      if (error instanceof UsageError && !(error instanceof StoreConfigError)) {
        const to = pending.setAside(name);
        out.warn(
          `a change kept while the database was down cannot be applied (${error.message}): moved aside as ${to}`,
        );
        continue;
      }
      if ((error as Error).name !== "AlreadyAppliedError") throw error;
    }
    pending.remove(name);
  }
  return applied;
}

function applyChange(reporter: ParallelProgressReporter, change: AgentChange): Promise<void> {
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
      return reporter.markAgentComplete(change.agent, change.summary);
    case "fail":
      return reporter.markAgentFailed(change.agent, change.error);
    case "cancel":
      return reporter.cancelAgent(change.agent, change.reason);
    case "log":
      return reporter.logAgentEvent(change.agent, change.message);
  }
}

/** How long the background writer waits for a database that does not answer, and how often it asks. */
const WAIT_LIMIT_MS = 10 * 60_000;
const WAIT_STEP_MAX_MS = 15_000;

/**
 * In the background writer: when this machine keeps changes, waits for the database (asking again after
 * 0.5, 1, 2, 4, … s, at most 15 s apart, for up to 10 minutes) and applies them. One waiter per directory
 * (a claim file touched while it waits); others leave it to that one.
 */
export async function waitAndReplay(context: Context, sleep: (ms: number) => Promise<void>): Promise<void> {
  const { store, reporter } = context;
  if (!store) return;
  const pending = new PendingChanges(nodeFileSystem(), statePaths(reporter.directory).dir);
  if (pending.names().length === 0 || !pending.claimWaiter(Date.now())) return;
  try {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      try {
        await replayPending(context, pending);
        return;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
      }
      pending.touchWaiter(Date.now());
      await sleep(Math.min(WAIT_STEP_MAX_MS, 500 * 2 ** Math.min(attempt, 5)));
    }
  } finally {
    pending.releaseWaiter();
  }
}
