import { resolveTarget } from "../config/github-target.js";
import { UsageError } from "../errors.js";
import { createRun } from "../model/run.js";
import type { RunState } from "../model/types.js";
import { canSync } from "../sync/decide.js";
import { randomHex } from "../util/random.js";
import type { ReporterCore } from "./core.js";
import { recordTaskFile, warnIfNoRepository } from "./task-settings.js";
import type { AgentRef } from "./types.js";

/** initializeParallelTracking's options. */
export interface StartOptions {
  force?: boolean;
  stallAfterMs?: number;
  maxCostUsd?: number;
}

/**
 * Starts a run of epic `epicId` with `domains` (both checked) in the reporter's epic directory, refused
 * while one is active there unless `force`; then the first write, by `deadline`.
 */
export async function startRun(
  core: ReporterCore,
  epicId: string,
  domains: string[],
  options: StartOptions,
  deadline: number,
): Promise<AgentRef[]> {
  const target = await resolveTarget(core.fs, core.epicDir, core.env, core.overrides);
  warnIfNoRepository(core, target);
  const unreadable = options.force ? await core.store.setAsideUnreadable?.() : null;
  if (unreadable) core.warn(`${unreadable}: moved aside as state.json.corrupt`);
  core.queue.sweep(core.clock.now());
  const state = await core.store.transact((current, now) => {
    if (current && !current.completedAt && !options.force) {
      throw new UsageError(
        `run ${current.runId} (epic ${current.epicId}) is still active here: finalize it first, or pass --force to abandon it`,
      );
    }
    const next = createRun({
      epicId,
      domains,
      now,
      github: target.github,
      ...(options.stallAfterMs === undefined ? {} : { stallAfterMs: options.stallAfterMs }),
      ...(options.maxCostUsd === undefined ? {} : { maxCostUsd: options.maxCostUsd }),
      // 32 random bits: runs of epics that share a slug (the first 40 of [A-Za-z0-9._-]), started in the same
      // second, must not share a run id (the comment's marker; unique in a shared store). 16 bits made it
      // about 1 in 65,536 for two such runs, 1 in 350 for twenty: a matrix starts many at once.
      nonce: randomHex(8),
      // A run started in the same second as the one it replaces takes other ids: a command meant for
      // an agent of the old run is then refused (unknown agent), never applied to the new run.
      replacedAgentIds: current ? Object.keys(current.agents) : [],
    });
    return { next, result: next };
  });
  recordTaskFile(core, state.runId, target);
  await started(core, state, deadline);
  return Object.values(state.agents).map(({ agentId, domain }) => ({ agentId, domain }));
}

/** After init: the first write (the progress comment), or a background writer when it is not due. */
async function started(core: ReporterCore, state: RunState, deadline: number): Promise<void> {
  core.changed(state);
  const thrown = core.listeners.changed(state);
  const result = canSync(state) ? await core.actor().step({ ensureBackgroundWriter: true, deadline }) : null;
  const synced = core.listeners.synced(result);
  core.listeners.rethrow(thrown ?? synced);
}
