import { sameApi } from "../config/api-url.js";
import type { IssueComment } from "../github/types.js";
import type { RunState } from "../model/types.js";
import type { OfflineQueue } from "../queue/offline-queue.js";
import type { QueueEntry } from "../queue/types.js";
import { appendProgressComment, type WriteContext } from "./comments.js";

/**
 * Append mode keeps one comment per write, so a snapshot that failed is history the issue still owes,
 * and it must come before anything newer. The run's writer posts the run's queued history, oldest
 * first, before its own body (under the run's write lease, so no two processes post the same one).
 */

/** The queued history comments of this run that come before or at `state.seq`, in seq order. */
function queuedHistory(entries: readonly QueueEntry[], state: RunState): QueueEntry[] {
  const history = entries.filter(
    ({ item }) =>
      item.run_id === state.runId &&
      item.kind === "progress" &&
      item.comment_mode === "append" &&
      item.seq <= state.seq &&
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
  queue: OfflineQueue,
  state: RunState,
): Promise<IssueComment | null> {
  let current: IssueComment | null = null;
  if (queue.count() === 0) return current; // nothing queued: no directory read (start-up time)
  for (const { name, item } of queuedHistory((await queue.list()).entries, state)) {
    const written = await appendProgressComment(context, {
      runId: item.run_id,
      seq: item.seq,
      body: item.comment,
      lookFirst: true,
    });
    await queue.remove(name);
    if (item.seq === state.seq) current = written.comment;
  }
  return current;
}
