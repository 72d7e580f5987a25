import { sameApi } from "../config/api-url.js";
import type { IssueComment } from "../github/types.js";
import type { RunState } from "../model/types.js";
import type { QueueEntry } from "../queue/types.js";
import { appendProgressComment, type WriteContext } from "./comments.js";
import { isDelivered, isHistory } from "./retry-plan.js";
import type { SyncDeps } from "./syncer-types.js";

/**
 * Append mode keeps one comment per write, so a snapshot that failed is history the issue still owes,
 * and it must come before anything newer, whatever mode the run is in by then. The run's writer posts
 * the run's queued history, oldest first, before its own write (under the run's write lease, so no two
 * processes post the same one).
 */

/** The queued history comments of this run that come before or at `state.seq`, in seq order. */
function queuedHistory(entries: readonly QueueEntry[], state: RunState): QueueEntry[] {
  const history = entries.filter(
    ({ item }) =>
      item.run_id === state.runId &&
      isHistory(item) &&
      item.seq <= state.seq &&
      !isDelivered(item, state) &&
      // The token goes only to the API the run is configured with (a queue file is only data).
      sameApi(item.api_url, state.github.apiUrl),
  );
  // Not by file name: the machine's clock may have stepped back between two failures.
  return history.sort((a, b) => a.item.seq - b.item.seq);
}

/**
 * Posts the run's queued history in order (each looked up by its marker first, so none is posted
 * twice) and removes each entry once it is on the issue. Stops at the first failure (GitHubError, the
 * rest stays queued). Returns the comment of `state.seq` itself when it was among them.
 */
export async function postQueuedHistory(
  context: WriteContext,
  deps: Pick<SyncDeps, "queue" | "store">,
  state: RunState,
): Promise<IssueComment | null> {
  let current: IssueComment | null = null;
  if (deps.queue.count() === 0) return current; // nothing queued: no directory read (start-up time)
  for (const entry of queuedHistory((await deps.queue.list()).entries, state)) {
    const { item } = entry;
    const written = await appendProgressComment(context, {
      runId: item.run_id,
      seq: item.seq,
      body: item.comment,
      lookFirst: true,
    });
    await clearHistory(deps, entry);
    if (item.seq === state.seq) current = written.comment;
  }
  return current;
}

/**
 * Removes a history entry the issue shows; when its file cannot be removed, the run state records its seq
 * (`sync.historyShown`), so that it counts as delivered, not queued.
 */
export async function clearHistory(
  { queue, store }: Pick<SyncDeps, "queue" | "store">,
  { name, item }: QueueEntry,
): Promise<void> {
  if (await queue.remove(name)) return;
  await store.transact((current) => {
    if (!current || current.runId !== item.run_id || isDelivered(item, current)) return { result: undefined };
    const historyShown = [...(current.sync.historyShown ?? []), item.seq];
    return { next: { ...current, sync: { ...current.sync, historyShown } }, result: undefined };
  });
}
