import type { QueueItem } from "../queue/types.js";
import { storeTime } from "../store/store-time.js";
import { renderBody } from "./render-body.js";
import type { SyncDeps } from "./syncer-types.js";

/** What a retry sends for a queued progress entry: the body and its seq; `mark`: as an edit only. */
interface ProgressPost {
  body: string;
  seq: number;
  mark: boolean;
}

/**
 * What a retry sends for `item`, the newest queued progress entry (edit mode) of a run that is not the
 * store's. A database store keeps every run, and the queue is this machine's: another machine's `init
 * --force` may have abandoned that run since the entry was queued. So where the store shows the run
 * abandoned, its mark is sent, rendered from the run as the store keeps it; where it shows the run not
 * abandoned, the entry as queued, or nothing for a mark (queued by an `init --force` that did not
 * commit). Where the store keeps no such run (the file store; a run the role may not see), the entry as queued.
 */
export async function queuedProgress(
  deps: Pick<SyncDeps, "store" | "clock" | "maskState">,
  item: QueueItem,
): Promise<ProgressPost | null> {
  const asQueued = { body: item.comment, seq: item.seq, mark: item.abandoned === true };
  const run = await deps.store.readRun?.(item.run_id);
  if (!run) return asQueued;
  if (!run.abandonedAt) return item.abandoned ? null : asQueued;
  const now = storeTime(deps.store, () => deps.clock.now());
  // The mark edits the run's progress comment (edit mode's), whatever mode the run was left in.
  const edited = { ...run, github: { ...run.github, commentMode: "edit" as const } };
  return { body: await renderBody(edited, "progress", now, deps.maskState), seq: run.seq, mark: true };
}
