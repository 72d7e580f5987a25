import type { RunState } from "../model/types.js";
import type { QueueItem } from "../queue/types.js";
import { canSync, missingSteps } from "./decide.js";
import { renderBody } from "./render-body.js";
import type { Step, SyncDeps } from "./syncer-types.js";

/**
 * The run's posts in the offline queue, kept so that the queue says what the issue lacks: a failed write
 * queues its post, a write clears what it made superfluous, a writer that stops queues what is left.
 */

/** Whether queue entry `item` is `state`'s post of kind `step`, for this state or a newer one. */
const holds = (item: QueueItem, state: RunState, step: Step): boolean =>
  item.run_id === state.runId && item.kind === step && (step === "final" || item.seq >= state.seq);

/** Whether the queue holds every post the issue lacks of `state` (see missingSteps). */
export async function queueHoldsMissing(queue: SyncDeps["queue"], state: RunState): Promise<boolean> {
  const { entries } = await queue.list();
  return missingSteps(state).every((step) => entries.some(({ item }) => holds(item, state, step)));
}

/**
 * Puts a post in the offline queue (no token: the body and where it goes), unless the queue already
 * holds this run's post of that kind for this state or a newer one. In edit mode the newest progress
 * snapshot replaces the run's older ones (added first, then the older removed: a crash between leaves
 * both, never none), so a GitHub that stays down keeps one progress entry per run. Append mode keeps
 * each snapshot: each is a comment of the history. Returns the file's name (null when the queue folder
 * cannot be written: the queue warned of it) and whether it is new.
 */
export async function enqueue(
  { queue, clock }: Pick<SyncDeps, "queue" | "clock">,
  state: RunState,
  step: Step,
  body: string,
  reason: string,
  /**
   * `unsureUntil`: a create that timed out may still appear until then (this process's clock). `abandoned`:
   * the body marks an abandoned run's progress comment (QueueItem.abandoned).
   */
  outcome: { outcomeUnknown: boolean; unsureUntil: number | null; abandoned?: boolean } = {
    outcomeUnknown: false,
    unsureUntil: null,
  },
): Promise<{ name: string | null; added: boolean }> {
  const { entries } = await queue.list();
  // A mark is held only by a mark: it replaces the run's post of the same state (init --force queues it
  // at the state it is about to abandon, see startRun).
  const mark = outcome.abandoned === true;
  const held = entries.find(({ item }) => holds(item, state, step) && (!mark || item.abandoned));
  // A held entry stays as it is: the run's state holds an unanswered create's window (an entry queued
  // before its create timed out has no unsure_until, which matters only once a later init replaced the run).
  if (held) return { name: held.name, added: false };
  const name = await queue.add({
    issue_number: state.github.issueNumber!,
    comment: body,
    timestamp: new Date(clock.now()).toISOString(),
    repo: state.github.repo!,
    api_url: state.github.apiUrl,
    kind: step,
    comment_mode: state.github.commentMode,
    run_id: state.runId,
    seq: state.seq,
    reason,
    outcome_unknown: outcome.outcomeUnknown,
    unsure_until: outcome.unsureUntil === null ? null : new Date(outcome.unsureUntil).toISOString(),
    ...(outcome.abandoned ? { abandoned: true } : {}),
  });
  // The queue folder could not be written (warned by the queue): nothing added, the older entries kept.
  if (name === null) return { name, added: false };
  if (step === "progress" && state.github.commentMode === "edit") {
    for (const { name: file, item } of entries) {
      const older = item.seq < state.seq || (mark && !item.abandoned && item.seq === state.seq);
      const superseded = item.run_id === state.runId && item.kind === "progress" && older;
      if (superseded && item.comment_mode === "edit") await queue.remove(file);
    }
  }
  return { name, added: true };
}

/**
 * Queues every post the issue still lacks (the progress snapshot and, for a finalized run, the final
 * summary) that the queue does not hold yet, so that the queue says truthfully what remains and a
 * later `init` cannot lose it. Returns the names of the files added.
 */
export async function queueMissing(
  deps: Pick<SyncDeps, "store" | "queue" | "clock">,
  reason: string,
): Promise<string[]> {
  const state = await deps.store.read();
  return state ? queueMissingOf(deps, state, reason) : [];
}

/**
 * queueMissing for `state`, which need not be the store's any more (a run `init` just replaced).
 * `unsureUntil` (this process's clock): the window of the run's unanswered create (for an abandoned run's
 * mark, also of a write that was in progress), carried into its entry.
 */
export async function queueMissingOf(
  deps: Pick<SyncDeps, "queue" | "clock" | "maskState">,
  state: RunState,
  reason: string,
  unsureUntil: number | null = null,
): Promise<string[]> {
  if (!canSync(state)) return [];
  const added: string[] = [];
  for (const step of missingSteps(state)) {
    const body = await renderBody(state, step, deps.clock.now(), deps.maskState);
    // An abandoned run's progress comment (edit mode) is only marked so: edited if the issue shows it,
    // looked up until a create of it may no longer appear (one that got no answer, or was in progress).
    const abandoned =
      Boolean(state.abandonedAt) && step === "progress" && state.github.commentMode === "edit";
    const unsure = unsureUntil !== null && (abandoned || state.sync.unsureCreate?.kind === step);
    const outcome = { outcomeUnknown: unsure, unsureUntil: unsure ? unsureUntil : null, abandoned };
    const queued = await enqueue(deps, state, step, body, reason, outcome);
    if (queued.added && queued.name !== null) added.push(queued.name);
  }
  return added;
}

/**
 * Removes the run's queued posts that a write of `state` made superfluous: in edit mode the snapshots up
 * to this state, and the final summary once posted. (Append-mode history was posted by the write itself.)
 * The queue is looked at only when not empty.
 */
export async function clearDelivered(
  { queue }: Pick<SyncDeps, "queue">,
  state: RunState,
  step: Step,
): Promise<void> {
  if (queue.count() === 0) return;
  for (const { name, item } of (await queue.list()).entries) {
    if (item.run_id !== state.runId || item.kind !== step) continue;
    if (step === "final" || (item.comment_mode === "edit" && item.seq <= state.seq)) {
      await queue.remove(name);
    }
  }
}
