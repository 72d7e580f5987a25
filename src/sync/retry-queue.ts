import { join } from "node:path";
import { GitHubError } from "../errors.js";
import type { IssueCommentsClient } from "../github/types.js";
import type { RunState } from "../model/types.js";
import type { SetAside } from "../queue/offline-queue.js";
import type { QueueItem } from "../queue/types.js";
import { withLock } from "../store/lock.js";
import type { FileSystem } from "../util/io.js";
import {
  appendProgressComment,
  postFinalComment,
  type WriteContext,
  writeProgressComment,
} from "./comments.js";
import { Pacer } from "./pacer.js";
import { type PlannedEntry, planRetry } from "./retry-plan.js";
import { type RunSyncer, repoRef, type SyncDeps } from "./run-syncer.js";

export interface RetryReport {
  /** Entries cleared because what they held (or something newer) is now on the issue. */
  sent: number;
  /** Entries still queued. */
  remaining: number;
  plan: PlannedEntry[];
  setAside: SetAside[];
  /** Why entries remain, for entries of other runs (failures of this run's writes are warned by the syncer). */
  errors: string[];
}

/**
 * Retries the offline queue, oldest first. Only one retry runs at a time per epic directory (a lock
 * beside the run state), so two finalizes or retries at once never post anything twice.
 */
export async function retryQueue(
  deps: SyncDeps & { fs: FileSystem },
  lockDir: string,
  syncer: RunSyncer,
  options: { dryRun?: boolean; deadlineMs?: number } = {},
): Promise<RetryReport> {
  const { fs, queue, store, clock } = deps;
  await fs.promises.mkdir(lockDir, { recursive: true });
  return withLock(join(lockDir, "retry.lock"), { fs, waitMs: 60_000 }, async () => {
    const { entries, setAside } = await queue.list();
    const plan = planRetry(entries, await store.read());
    const report: RetryReport = { sent: 0, remaining: plan.length, plan, setAside, errors: [] };
    if (options.dryRun) return report; // nothing is sent, not even the current state
    const deadline = clock.now() + (options.deadlineMs ?? 30_000);
    const clearedRuns = new Set<string>();
    let currentFlushed = false;
    let stopped = false; // GitHub failed: keep the rest for later
    const clients = new Map<string, IssueCommentsClient>();
    const pacer = new Pacer(clock, 1000, deps.sleep, 0);

    for (const entry of plan) {
      if (stopped) break;
      try {
        if (entry.action === "current") {
          if (!currentFlushed) {
            currentFlushed = true;
            const result = await syncer.flush({ deadline, ignoreBackoff: true });
            stopped = result.kind === "failed";
          }
          if (isDelivered(entry.item, await store.read())) await clear(entry);
          continue;
        }
        if (entry.action === "superseded") {
          if (clearedRuns.has(entry.item.run_id)) await clear(entry);
          continue;
        }
        const context = await contextFor(entry.item);
        const args = { runId: entry.item.run_id, seq: entry.item.seq, body: entry.item.comment };
        if (entry.action === "upsert") {
          await writeProgressComment(context, { ...args, commentId: null, converge: true });
          clearedRuns.add(entry.item.run_id);
        } else if (entry.action === "append") {
          // Looked up first: a replay must never post the same snapshot twice (an earlier retry may
          // have posted it and been stopped before clearing its file).
          await appendProgressComment(context, { ...args, lookFirst: true });
          await syncer.markPosted(entry.item.run_id, entry.item.seq);
        } else {
          await postFinalComment(context, args);
        }
        await clear(entry);
      } catch (error) {
        if (!(error instanceof GitHubError)) throw error;
        report.errors.push(error.message);
        stopped = true;
      }
    }
    // The current run is brought up to date even when nothing of it was queued (finalize relies on it).
    if (!currentFlushed && !stopped) await syncer.flush({ deadline, ignoreBackoff: true });
    // Older snapshots whose run's newest one was delivered later in the list.
    for (const entry of plan) {
      if (entry.action === "superseded" && clearedRuns.has(entry.item.run_id)) await clear(entry);
    }
    // What is left, including posts queued by failures during this retry.
    let left = (await queue.list()).entries;
    const state = await store.read();
    if (state && !left.some((entry) => entry.item.run_id === state.runId)) {
      // Not sent and not failed either: GitHub asked us to wait longer than this call may. Say so.
      const until = Math.max(state.sync.rateLimitedUntil, state.sync.backoffUntil);
      const reason =
        until > clock.now()
          ? `GitHub asked to wait until ${new Date(until).toISOString()}`
          : "the issue could not be brought up to date in time";
      if (await syncer.queuePending(reason)) {
        report.errors.push(reason);
        left = (await queue.list()).entries;
      }
    }
    report.remaining = left.length;
    return report;

    async function clear(entry: PlannedEntry): Promise<void> {
      await queue.remove(entry.name);
      if (!entry.cleared) {
        entry.cleared = true;
        report.sent++;
      }
    }

    async function contextFor(item: QueueItem): Promise<WriteContext> {
      if (!clients.has(item.api_url)) clients.set(item.api_url, await deps.client(item.api_url));
      const client = clients.get(item.api_url)!;
      return {
        client,
        target: { repo: repoRef(item.repo), issueNumber: item.issue_number },
        pacer,
        viewer: null,
      };
    }
  });
}

/** Whether the issue shows what a queued entry of the current run held, or something newer. */
function isDelivered(item: QueueItem, state: RunState | null): boolean {
  if (!state || state.runId !== item.run_id) return false;
  if (item.kind === "final") return state.sync.finalCommentId !== null;
  return state.sync.postedSeq >= item.seq;
}
