import { join } from "node:path";
import { resolveTarget } from "../config/github-target.js";
import { refuseSecretsIn, refuseSecretsInTarget } from "../config/options.js";
import { QueueUnwritableError, StoreUnavailableError, UsageError } from "../errors.js";
import { applyAbandon, createRun, refuseReplacedIds } from "../model/run.js";
import type { RunState } from "../model/types.js";
import { sweepTemporaryFiles } from "../store/atomic-write.js";
import { canSync, missingSteps } from "../sync/decide.js";
import { enqueue, queueHoldsMissing, queueMissingOf } from "../sync/queueing.js";
import { renderBody } from "../sync/render-body.js";
import { LATE_LANDING_MS } from "../sync/timings.js";
import { randomHex } from "../util/random.js";
import type { ReporterCore, Workplace } from "./core.js";
import { recordTaskFile, warnIfNoRepository, warnOfTaskFile } from "./task-settings.js";
import type { AgentRef } from "./types.js";

/** initializeParallelTracking's options. */
export interface StartOptions {
  force?: boolean;
  stallAfterMs?: number;
  maxCostUsd?: number;
}

/**
 * Starts a run of epic `epicId` with `domains` (both checked) in `place` (the reporter's epic directory, or
 * the one init names), refused while one is active there unless `force`; the reporter works in `place`
 * once the run has started (a refused init leaves it where it was); then the first write, by `deadline`.
 * `labels`: what a refusal of a name holding a secret calls the epic and the domains.
 */
export async function startRun(
  core: ReporterCore,
  place: Workplace,
  epicId: string,
  domains: string[],
  options: StartOptions,
  deadline: number,
  labels: { epicId: string; domains: string },
): Promise<AgentRef[]> {
  const target = await resolveTarget(core.fs, place.epicDir, core.env, core.overrides).catch(
    async (error: unknown) => {
      // A task.md value refused may quote the password ~/.pgpass gives the store: it is learned first (the
      // store reached, as a later call has) so that the message masks it; a store that does not answer
      // leaves the refusal as it is.
      if (error instanceof UsageError) await place.store.read().catch(() => undefined);
      throw error;
    },
  );
  warnIfNoRepository(core, target);
  const unreadable = options.force ? await place.store.setAsideUnreadable?.() : null;
  if (unreadable) core.warn(`${unreadable.problem}: moved aside as ${unreadable.movedTo}`);
  place.queue.sweep(core.clock.now());
  // task.md's temporary copy that a finalize killed while it wrote last_synced left (git would show it).
  sweepTemporaryFiles(core.fs, join(place.epicDir, "task.md"), core.clock.now());
  // A finalized run whose posts the issue lacks is replaced only once the queue keeps them: queued after
  // the new run's commit, they were lost to a process killed in between, or to a queue folder that could
  // not be written (the run state no longer held them).
  // A token gh gives is a secret as the environment's are: asked for first, when the run will post.
  if (target.github.issueNumber !== null && target.github.syncEnabled) {
    await core.learnTokens(target.github.apiUrl);
  }
  const before = await place.store.read();
  // Said once the store was reached: they quote task.md, and the password ~/.pgpass gave is known then.
  await warnOfTaskFile(core, target);
  // Refused before anything is queued: the store's secrets are known once it was reached (the password
  // ~/.pgpass gave the connection), and a refused init leaves everything as it was.
  const secrets = core.secrets();
  refuseSecretsIn([epicId], secrets, labels.epicId);
  refuseSecretsIn(domains, secrets, labels.domains);
  // Kept in the run state and queue files as they are (ids, not text): refused as names are.
  refuseSecretsInTarget(target.github.repo, target.github.apiUrl, secrets);
  // Refused before anything is queued too; createRun checks again, on the run the transaction reads.
  if (before && (before.completedAt !== null || options.force)) {
    refuseReplacedIds(before, domains, new Date(place.store.now?.() ?? core.clock.now()).toISOString());
  }
  let queued = 0;
  if (before && lacksPosts(before)) {
    queued += await queueReplaced(core, place, {
      state: before,
      at: place.store.now?.() ?? core.clock.now(),
    });
    if (!(await queueHoldsMissing(place.queue, before))) {
      throw new QueueUnwritableError(
        `run ${before.runId} was finalized but the issue lacks some of it, and the offline queue ${place.queue.dir} could not keep it: the run is not replaced; fix the folder's owner or mode, or send it with \`parallel-progress retry\` first`,
      );
    }
  }
  // The mark of an open run that --force abandons, queued before the run is replaced: queued after the
  // commit, it was lost to a process killed in between. Queued at the run's own seq, it is harmless if the
  // run is not replaced after all (a failed init, a process killed first): while that run is the store's,
  // a retry writes it from its state and never sends this body (planRetry's `current`).
  const premark =
    options.force && before && before.completedAt === null && canSync(before)
      ? await queueMark(core, place, before)
      : null;
  const { state, replaced } = await place.store.transact((current, now) => {
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
      replaced: current,
    });
    return { next, result: { state: next, replaced: current && replacedPart(current, now) } };
  });
  if (place.epicDir !== core.epicDir) core.bind(place);
  recordTaskFile(core, state.runId, target);
  try {
    // The run marked above was not abandoned by this init (another process finalized it, or replaced it
    // first): its mark goes. Otherwise the mark queued next, as the run was replaced, supersedes it.
    const abandoned = replaced?.state.abandonedAt ? replaced.state.runId : null;
    if (premark && abandoned !== before?.runId) await place.queue.remove(premark);
    // Changed since it was queued above (another process's change in between): queued as it was replaced.
    if (replaced && (!replaced.state.abandonedAt || (await shownOnIssue(place, replaced)))) {
      queued += await queueReplaced(core, place, replaced);
      // Said once the run is replaced (a refused or failed init replaced nothing).
      if (queued > 0) core.warn(replacedWarning(replaced.state));
    }
    await started(core, state, deadline);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    // The run is started (its transaction committed): its agent ids are the run's own. Only what came
    // after failed (a lease, a write's record); the issue is brought up to date by a later write.
    core.warn(
      `${error.message}: the run is started; its progress comment is written by the next change, retry or finalize`,
    );
  }
  return Object.values(state.agents).map(({ agentId, domain }) => ({ agentId, domain }));
}

/** A run that init replaces, as the store's clock read it `at`: finalized, or abandoned by it. */
interface Replaced {
  state: RunState;
  at: number;
}

/**
 * What the issue still lacks of the run `current` that init replaces `at`: a finalized run's missing posts,
 * or an open run's table marked abandoned (`init --force`; the store closes it so too), null when none.
 */
function replacedPart(current: RunState, at: number): Replaced | null {
  if (lacksPosts(current)) return { state: current, at };
  if (current.completedAt === null && canSync(current)) return { state: applyAbandon(current, at), at };
  return null;
}

/**
 * Whether the issue shows, or may come to show, the progress comment of `state` (an abandoned run) `at`:
 * posted, maybe posted (a create that got no answer, or a write in progress: its lease held), or queued.
 * One that never reached it is not created to be marked abandoned.
 */
async function shownOnIssue(place: Workplace, { state, at }: Replaced): Promise<boolean> {
  const { sync } = state;
  if (sync.postedSeq > 0 || sync.commentId !== null || sync.unsureCreate !== null) return true;
  if (landsUntil(state, at) !== null) return true;
  const { entries } = await place.queue.list({ moveAside: false });
  return entries.some(({ item }) => item.run_id === state.runId);
}

/**
 * Until when (the store's clock) a post of `state` may still land on the issue, as seen `at`: a create that
 * got no answer, and for an abandoned run also a write in progress (the lease of a write that may be
 * creating its comment now, whose holder's last request may land until the lease ends and a little
 * after, LATE_LANDING_MS). Null when nothing may.
 */
function landsUntil(state: RunState, at: number): number | null {
  const { unsureCreate, lease } = state.sync;
  const writing = state.abandonedAt && lease && lease.expiresAt > at ? lease.expiresAt + LATE_LANDING_MS : 0;
  const until = Math.max(unsureCreate?.until ?? 0, writing);
  return until > at ? until : null;
}

/** landsUntil on this process's clock (`now`), as a queue entry's `unsure_until` holds it, or null. */
function landsUntilHere(state: RunState, at: number, now: number): number | null {
  const until = landsUntil(state, at);
  return until === null ? null : now + (until - at);
}

/** Whether `state` is a finalized run the issue does not show all of yet (progress or final summary). */
function lacksPosts(state: RunState): boolean {
  return state.completedAt !== null && canSync(state) && missingSteps(state).length > 0;
}

/**
 * Queues what the issue still lacks of the finalized run this init replaced, as a retry or finalize that
 * ends does: its finalize may still be at work (and now writes the new run, the store's), or have stopped
 * short. The queue keeps the old run's posts until `retry` (or the next finalize) delivers them. Returns
 * how many entries it added (the warning is the caller's: said once the run is replaced).
 */
async function queueReplaced(core: ReporterCore, place: Workplace, { state, at }: Replaced): Promise<number> {
  const unsureUntil = landsUntilHere(state, at, core.clock.now());
  const deps = { queue: place.queue, clock: core.clock, maskState: core.maskState };
  return (await queueMissingOf(deps, state, replacedReason(state), unsureUntil)).length;
}

/**
 * Queues the mark of the open run `open` that init --force is about to abandon, as queueReplaced queues it
 * once abandoned (its table under "Run abandoned"), but at `open`'s seq: it replaces the run's queued post
 * of that state, and while the run stays the store's it is that run's own entry. Returns the file's name,
 * or null when the issue will never show the run's comment (nothing queued).
 */
async function queueMark(core: ReporterCore, place: Workplace, open: RunState): Promise<string | null> {
  const at = place.store.now?.() ?? core.clock.now();
  const abandoned = applyAbandon(open, at);
  if (open.github.commentMode !== "edit" || !(await shownOnIssue(place, { state: abandoned, at }))) {
    return null;
  }
  const unsureUntil = landsUntilHere(abandoned, at, core.clock.now());
  const body = await renderBody(abandoned, "progress", core.clock.now(), core.maskState);
  const outcome = { outcomeUnknown: unsureUntil !== null, unsureUntil, abandoned: true };
  const deps = { queue: place.queue, clock: core.clock };
  return (await enqueue(deps, open, "progress", body, replacedReason(abandoned), outcome)).name;
}

const replacedReason = (state: RunState) =>
  state.abandonedAt
    ? `run ${state.runId} was abandoned (init --force): its progress comment is marked so`
    : `run ${state.runId} was replaced by a new run before the issue showed all of it`;

function replacedWarning(state: RunState): string {
  if (state.abandonedAt) {
    return `${replacedReason(state)} once \`parallel-progress retry\` (or this run's finalize) sends the queued edit`;
  }
  const what = missingSteps(state).includes("final") ? "its final summary" : "its latest table";
  return `${replacedReason(state)} (${what}): queued; \`parallel-progress retry\` sends it`;
}

/** After init: the first write (the progress comment), or a background writer when it is not due. */
async function started(core: ReporterCore, state: RunState, deadline: number): Promise<void> {
  core.changed(state);
  const thrown = core.listeners.changed(state);
  const result = canSync(state) ? await core.actor().step({ ensureBackgroundWriter: true, deadline }) : null;
  const synced = core.listeners.synced(result);
  core.listeners.rethrow(thrown ?? synced);
}
