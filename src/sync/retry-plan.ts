import { sameApi } from "../config/api-url.js";
import type { RunState } from "../model/types.js";
import type { OfflineQueue } from "../queue/offline-queue.js";
import type { QueueEntry } from "../queue/types.js";
import { canSync, missingSteps } from "./decide.js";

/**
 * What retrying the offline queue will do with each entry, oldest first (pure).
 * - `current`: an entry of the run in this directory. The run state is the truth, so the entry is not
 *   replayed: the issue is brought to the current state (progress comment, then final summary once),
 *   and the entry is cleared once the issue shows what it held or something newer.
 * - `delivered`: an entry of the run in this directory that the issue already shows (or something
 *   newer), written by another process or machine since: cleared, nothing sent. A history comment
 *   (append mode) only once the issue was seen to show it itself (see isDelivered).
 * - `upsert`: the newest progress snapshot of another run (edit mode): edits that run's comment.
 * - `superseded`: an older progress snapshot of another run: cleared when its run's newest one lands.
 * - `append`: a history comment (append mode) of another run: posted as it is, in order, once. The
 *   current run's history is `current`: its writer posts it, oldest first, before anything newer (in
 *   either mode); what the writer did not post (the issue was up to date) the retry posts after it.
 * - `final`: the final summary of another run: posted once (looked up by marker first).
 * - `left`: an entry of another run queued for another GitHub API than the call's (only in a dry run's
 *   plan, see leftForOtherApi): it stays queued, as the token goes only to the configured API.
 * - `held`: any other entry while sync is off (task.md's github.sync_enabled: false, see heldWhileSyncOff):
 *   nothing is sent or cleared, it stays queued until sync is on again.
 */
type RetryAction = "current" | "delivered" | "upsert" | "superseded" | "append" | "final" | "left" | "held";

export interface PlannedEntry extends QueueEntry {
  action: RetryAction;
  /**
   * Set once nothing of it is left to send (the issue shows it, or it was a mark with nothing to mark),
   * whether or not its file could be removed.
   */
  done?: boolean;
}

export function planRetry(entries: readonly QueueEntry[], state: RunState | null): PlannedEntry[] {
  const newestEdit = new Map<string, number>();
  for (const { item } of entries) {
    if (item.kind !== "progress" || item.comment_mode !== "edit") continue;
    newestEdit.set(item.run_id, Math.max(newestEdit.get(item.run_id) ?? -1, item.seq));
  }
  const upserted = new Set<string>();
  return inSeqOrder(entries).map((entry) => {
    const { item } = entry;
    const isCurrent = state !== null && item.run_id === state.runId;
    // The run's own history is posted by its writer, under the lease, before its latest state.
    if (isCurrent) return { ...entry, action: isDelivered(item, state) ? "delivered" : "current" };
    if (item.kind === "progress" && item.comment_mode === "append") return { ...entry, action: "append" };
    if (item.kind === "final") return { ...entry, action: "final" };
    if (item.seq === newestEdit.get(item.run_id) && !upserted.has(item.run_id)) {
      upserted.add(item.run_id);
      return { ...entry, action: "upsert" };
    }
    return { ...entry, action: "superseded" };
  });
}

/**
 * `entries` (oldest first by file name, which is the queuing machine's clock) with each run's own entries
 * in the order of their seq (a final summary after the progress of its seq, equal ones as they were): a
 * clock stepped back between two of a run's failures must not post its older state after its newer one.
 * Other runs' entries keep their places.
 */
export function inSeqOrder<T extends QueueEntry>(entries: readonly T[]): T[] {
  const byRun = new Map<string, T[]>();
  for (const entry of entries) {
    const runEntries = byRun.get(entry.item.run_id);
    if (runEntries) runEntries.push(entry);
    else byRun.set(entry.item.run_id, [entry]);
  }
  // A run's final summary after its progress of the same seq (their names may sort either way within a ms).
  const order = (entry: T) => entry.item.seq * 2 + (entry.item.kind === "final" ? 1 : 0);
  for (const runEntries of byRun.values()) runEntries.sort((a, b) => order(a) - order(b));
  // Each place a run's entry held takes that run's next entry in seq order.
  const taken = new Map<string, number>();
  return entries.map((entry) => {
    const run = entry.item.run_id;
    const next = taken.get(run) ?? 0;
    taken.set(run, next + 1);
    return byRun.get(run)![next]!;
  });
}

/**
 * `plan` with the entries of other runs queued for another API than `apiUrl` marked `left`: a retry sends
 * them nowhere (pure). Superseded ones stay superseded (their run's newest entry says it).
 */
export function leftForOtherApi(plan: readonly PlannedEntry[], apiUrl: string): PlannedEntry[] {
  const sent = new Set(["upsert", "append", "final"]);
  return plan.map((entry) =>
    sent.has(entry.action) && !sameApi(entry.item.api_url, apiUrl) ? { ...entry, action: "left" } : entry,
  );
}

/**
 * `plan` as a retry carries it out while sync is off: nothing sent, nothing cleared, every entry `held`
 * (pure). Those `left` for another API stay `left`: they would stay queued with sync on too.
 */
export function heldWhileSyncOff(plan: readonly PlannedEntry[]): PlannedEntry[] {
  return plan.map((entry) => (entry.action === "left" ? entry : { ...entry, action: "held" }));
}

/**
 * A post the directory's run owes its issue that no queue entry holds (a process that ended before its
 * write, a script that exits without awaiting flush()): its progress comment behind the run's state, or its final
 * summary not posted. A retry writes it as it brings the issue to the run's state.
 */
export interface OwedPost {
  kind: "progress" | "final";
  runId: string;
  /** `owner/name`. */
  repo: string;
  issueNumber: number;
  /** The run's sequence number: the progress comment is to show it. */
  seq: number;
  /** The sequence number the progress comment shows. */
  postedSeq: number;
  /** `current`: the retry writes it; `left`: this call's GitHub API is not the run's (see runLeft). */
  action: "current" | "left";
}

/** What `state`'s issue lacks beyond the current entries of `plan` (pure; none while sync is off). */
export function owedPosts(plan: readonly PlannedEntry[], state: RunState | null): OwedPost[] {
  if (!state || !canSync(state)) return [];
  // A history comment of an older state is owed on its own: it does not hold the run's latest state.
  const holds = ({ action, item }: PlannedEntry) =>
    action === "current" && !(isHistory(item) && item.seq < state.seq);
  const queued = new Set(plan.filter(holds).map((entry) => entry.item.kind));
  return missingSteps(state)
    .filter((kind) => !queued.has(kind))
    .map((kind) => ({
      kind,
      runId: state.runId,
      repo: state.github.repo!,
      issueNumber: state.github.issueNumber!,
      seq: state.seq,
      postedSeq: state.sync.postedSeq,
      action: "current" as const,
    }));
}

/**
 * `plan` and `owed` as a retry carries them out when this call's GitHub API is not the run's (the file
 * store sends the token only to the call's API): the run's own entries and owed posts stay queued, `left`
 * as other runs' entries for another API are (pure).
 */
export function runLeft(plan: readonly PlannedEntry[], owed: readonly OwedPost[]) {
  return {
    plan: plan.map((entry) => (entry.action === "current" ? { ...entry, action: "left" as const } : entry)),
    owed: owed.map((post) => ({ ...post, action: "left" as const })),
  };
}

/** Whether a queue entry is a history comment (append mode's): delivered only once the issue shows it. */
export function isHistory(
  item: Pick<QueueEntry["item"], "kind"> & Partial<Pick<QueueEntry["item"], "comment_mode">>,
): boolean {
  return item.kind === "progress" && item.comment_mode === "append";
}

/**
 * Whether the issue shows what a queued entry (or an owed post) of the current run held, or something
 * newer. Not a history comment (append mode's) by anything newer: only once it was seen on the issue, its
 * file not removable since (`sync.historyShown`; a removed one is not asked about).
 */
export function isDelivered(
  item: Pick<QueueEntry["item"], "run_id" | "kind" | "seq"> &
    Partial<Pick<QueueEntry["item"], "comment_mode">>,
  state: RunState | null,
): boolean {
  if (!state || state.runId !== item.run_id) return false;
  if (item.kind === "final") return state.sync.finalCommentId !== null;
  if (isHistory(item)) return state.sync.historyShown?.includes(item.seq) ?? false;
  return state.sync.postedSeq >= item.seq;
}

/** The entries a retry still has to send: all but those the issue already shows. */
export function stillQueued(plan: readonly PlannedEntry[]): number {
  return plan.filter((entry) => entry.action !== "delivered").length;
}

/**
 * The queued posts a retry would still send, with `state` the directory's run (`status`'s count): an entry
 * of the run that the issue shows already (another process or machine wrote it since) is not counted.
 * Nothing is moved.
 */
export async function stillQueuedFor(queue: OfflineQueue, state: RunState | null): Promise<number> {
  if (queue.count() === 0) return 0;
  return stillQueued(planRetry((await queue.list({ moveAside: false })).entries, state));
}
