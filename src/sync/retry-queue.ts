import { sameApi } from "../config/api-url.js";
import { GitHubError, type GitHubErrorKind, LockTimeoutError } from "../errors.js";
import type { RunState } from "../model/types.js";
import type { SetAside } from "../queue/offline-queue.js";
import type { QueueItem } from "../queue/types.js";
import { storeTime } from "../store/store-time.js";
import {
  appendProgressComment,
  markProgressComment,
  postFinalComment,
  type WriteContext,
  writeProgressComment,
} from "./comments.js";
import { commandDeadline } from "./deadline.js";
import { canSync, missingSteps, waitReason } from "./decide.js";
import { clearHistory } from "./history.js";
import { Pacer } from "./pacer.js";
import { queuedProgress } from "./queued-progress.js";
import {
  heldWhileSyncOff,
  isDelivered,
  isHistory,
  leftForOtherApi,
  type OwedPost,
  owedPosts,
  type PlannedEntry,
  planRetry,
  runLeft,
  stillQueued,
} from "./retry-plan.js";
import { withRunLock } from "./run-lock.js";
import type { RunSyncer } from "./run-syncer.js";
import type { SyncDeps } from "./syncer-types.js";
import { repoRef } from "./write-step.js";

export interface RetryReport {
  /**
   * Entries cleared because what they held (or something newer) is now on the issue, and owed posts the
   * issue now shows.
   */
  sent: number;
  /**
   * Entries still queued, and posts the issue lacks that the queue folder could not take (a dry run:
   * entries and owed posts it would send).
   */
  remaining: number;
  plan: PlannedEntry[];
  /** What the directory's run owes its issue that no entry of `plan` holds: the retry writes it. */
  owed: OwedPost[];
  setAside: SetAside[];
  /** Why entries remain, for entries of other runs (failures of this run's writes are warned by the syncer). */
  errors: string[];
  /**
   * Epoch ms: GitHub asked not to write for the run before then (a rate limit, honoured by every
   * retry) and posts remain queued; null otherwise.
   */
  waitingUntil: number | null;
}

/**
 * Retries the offline queue, oldest first. Only one retry runs at a time per run (a lease in the shared
 * run state, `sync.retryLock`), so two finalizes or retries at once never post anything twice.
 */
export async function retryQueue(
  syncer: RunSyncer,
  options: {
    /**
     * The GitHub API this call is configured with (--api-url, else GITHUB_API_URL, else api.github.com),
     * for other runs' entries (the current run's go to its own API, with its state): those queued for
     * another API stay queued, as the token is never sent where the caller did not point it (a queue file
     * is only data in the epic folder, and anyone who can write there could name any host).
     */
    apiUrl: string;
    dryRun?: boolean;
    /** Sync is off (only with dryRun): every entry is held, none sent. */
    syncOff?: boolean;
    /**
     * Why this call would not write the run: its GitHub API is not the run's. Its owed posts (and, for a
     * dry run, its entries) are then `left`, and a dry run says this when it leaves any (a retry's write
     * fails and is warned of by the syncer).
     */
    runElsewhere?: string | null;
    /**
     * A dry run's run, as this call read it (its settings from a task.md changed since, which a dry run
     * does not save); default: the store's.
     */
    state?: RunState | null;
    /**
     * Epoch ms by which everything sent gives up (the command's deadline, on SyncDeps.timer); default: one
     * from now.
     */
    deadline?: number;
  },
): Promise<RetryReport> {
  const { deps } = syncer;
  const { queue, store, clock, timer } = deps;
  if (options.dryRun) {
    // Nothing is sent, not even the current state, and nothing on disk changes (no lock, no file moved).
    const { entries, setAside } = await queue.list({ moveAside: false });
    const state = options.state === undefined ? await store.read() : options.state;
    const planned = leftForOtherApi(planRetry(entries, state), options.apiUrl);
    const held = options.syncOff ? heldWhileSyncOff(planned) : planned;
    const elsewhere = options.syncOff ? null : (options.runElsewhere ?? null);
    const owedHere = owedPosts(held, state);
    const leaves = elsewhere !== null && (owedHere.length > 0 || held.some((e) => e.action === "current"));
    const { plan, owed } = leaves ? runLeft(held, owedHere) : { plan: held, owed: owedHere };
    const remaining = stillQueued(plan) + owed.length;
    const errors = leaves ? [elsewhere] : [];
    return { sent: 0, remaining, plan, owed, setAside, errors, waitingUntil: null };
  }
  const deadline = options.deadline ?? commandDeadline(timer.now());
  // With no run in the store, two retries at once would each post the same entries: the queue folder's lock.
  // Waited for until the command's deadline at most: the holder (or, once its lease ends, a background
  // writer or a later command) sends what is queued.
  const waitMs = Math.max(0, deadline - timer.now());
  const withoutRun = <T>(work: () => Promise<T>) => queue.exclusive(work, waitMs);
  const lock = { store, owner: deps.owner, sleep: deps.sleep, waitMs, withoutRun };
  let locked = false;
  return withRunLock(lock, async (lost) => {
    locked = true;
    const { entries, setAside } = await queue.list();
    const planned = await store.read();
    const plan = leftForOtherApi(planRetry(entries, planned), options.apiUrl);
    const owedHere = owedPosts(plan, planned);
    const report: RetryReport = {
      sent: 0,
      remaining: plan.length,
      plan,
      owed: options.runElsewhere ? runLeft([], owedHere).owed : owedHere,
      setAside,
      errors: [],
      waitingUntil: null,
    };
    const clearedRuns = new Set<string>();
    let outOfTime = false;
    /** Runs an entry of which its issue refused (deleted, locked, too long) or must wait: the rest waits too. */
    const refusedRuns = new Set<string>();
    // Spaced from this process's other writes too: the run's, which the syncer makes between these.
    const pacer = new Pacer({
      clock: timer,
      intervalMs: 1000,
      sleep: deps.sleep,
      requests: syncer.requests,
      deadline,
    });

    // The current run first, brought up to date even when nothing of it was queued (finalize relies on
    // it): its latest state and final summary are what the command is for, and other runs' entries (older,
    // often many: each init --force queues a mark) could take all its time first.
    const current = await syncer.flush({ deadline, ignoreBackoff: true });
    let stopped = current.kind === "failed"; // GitHub failed: keep the rest for later
    const currentFailed = stopped; // a write of the run failed: the syncer warned of it
    /** The token's user by API, once a lookup learned it: asked once per retry, not once per entry. */
    const viewers = new Map<string, Pick<WriteContext, "viewer" | "viewerId">>();

    for (const entry of plan) {
      if (stopped || lost.aborted) break; // lost: another retry took over (this one stalled past its lease)
      // The command's time is up (a wait for another retry's lock included): the rest stays queued.
      outOfTime = timer.now() >= deadline;
      if (outOfTime) break;
      let context: WriteContext | null = null;
      try {
        // Written by another process or machine since it was queued: nothing to send.
        if (entry.action === "delivered") {
          await clear(entry);
          continue;
        }
        if (entry.action === "current" && !isHistory(entry.item)) {
          if (isDelivered(entry.item, await store.read())) await clear(entry);
          continue;
        }
        // A history comment of the run that the flush's write did not post (the issue showed the run's
        // state already): posted now, looked up first. Its file gone, the flush's write posted it.
        if (entry.action === "current") {
          if (!queue.has(entry.name)) {
            await clear(entry);
            continue;
          }
          // The token goes only to the call's API (a queue file is only data), and the run's writes to the run's.
          if (options.runElsewhere || !sameApi(entry.item.api_url, options.apiUrl)) {
            report.errors.push(
              `${entry.name} is for ${entry.item.api_url}, not ${options.apiUrl}: left queued (the token goes only to the configured API)`,
            );
            continue;
          }
        }
        if (entry.action === "superseded") continue; // cleared below once its run's newest one is sent
        if (refusedRuns.has(entry.item.run_id)) continue; // stays queued, behind its run's refused entry
        if (entry.action === "left") {
          report.errors.push(
            `${entry.name} is for ${entry.item.api_url}, not ${options.apiUrl}: left queued (the token goes only to the configured API; run retry with GITHUB_API_URL set to it to send it there)`,
          );
          continue;
        }
        context = await contextFor(entry.item);
        const args = { runId: entry.item.run_id, seq: entry.item.seq, body: entry.item.comment };
        if (entry.action === "upsert") {
          // The entry as queued, or an abandoned run's mark (see queuedProgress), or nothing to send.
          const post = await queuedProgress(deps, entry.item);
          const sent = post ? { ...args, seq: post.seq, body: post.body } : null;
          let shown = sent !== null;
          if (sent && post?.mark) {
            // An edit only: a comment the issue does not show (deleted, never posted) is not created to
            // be marked; the entry is dropped, not counted as delivered.
            shown = (await markProgressComment(context, sent)) !== null;
          } else if (sent) {
            await writeProgressComment(context, { ...sent, commentId: null, converge: true });
          }
          clearedRuns.add(entry.item.run_id);
          if (!shown) {
            entry.done = true;
            await queue.remove(entry.name);
            continue;
          }
        } else if (entry.action === "current") {
          await appendProgressComment(context, { ...args, lookFirst: true });
          await clearHistory(deps, entry);
          markDone(entry);
          continue;
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
        // Its create got no answer and may still appear: the entry says so, so that no retry posts it again
        // before that window ends (the run state holds only the current run's).
        if (context?.unanswered === "create") await queue.markUnsure(entry.name, entry.item, clock.now());
        report.errors.push(`${entry.name} stays queued: ${error.message}`);
        // GitHub or the token in trouble (down, slow, rate-limited, bad credentials): the rest waits as well.
        // What concerns this entry's own issue (404, 403, 422: deleted, locked, a body too long; or an earlier
        // post of it that may still appear) holds back only its run's later entries: the other runs', and
        // the current run's state, are still sent.
        if (ENTRY_TROUBLE.has(error.kind)) refusedRuns.add(entry.item.run_id);
        else stopped = true;
      } finally {
        // What a lookup learned of the token's login serves the next entries on that API.
        if (context?.viewer !== undefined)
          viewers.set(entry.item.api_url, { viewer: context.viewer, viewerId: context.viewerId });
      }
    }
    // A write owed only later (once an unanswered request can no longer land) is left to a background writer.
    await syncer.ensureBackgroundWriter();
    // Older snapshots whose run's newest one was delivered later in the list.
    for (const entry of plan) {
      if (entry.action === "superseded" && clearedRuns.has(entry.item.run_id)) await clear(entry);
    }
    // Whatever the issue still lacks is in the queue, the final summary included (a later init would lose
    // what only the run state holds). When nothing failed, say why it was not sent.
    const state = await store.read();
    report.sent += report.owed.filter((owed) =>
      isDelivered({ run_id: owed.runId, kind: owed.kind, seq: owed.seq }, state),
    ).length;
    let why: string | null = null;
    if (state) {
      // The state's times (leases, back-offs) are the store's clock (a database's: this machine's may be off).
      const now = storeTime(store, () => clock.now());
      const reason = waitReason(state, now, deps.owner);
      await syncer.queueMissing(reason);
      const missing = canSync(state) && missingSteps(state).length > 0;
      const rateLimited = state.sync.rateLimitedUntil > now && missing;
      // A rate limit is said once, with its time (report.waitingUntil); a failed write of this run was
      // already warned about by the syncer.
      if (rateLimited) report.waitingUntil = state.sync.rateLimitedUntil;
      else if (missing && !(state.sync.lastError && currentFailed)) why = reason;
    }
    // An entry this call found on the issue counts as delivered although its file could not be removed.
    const done = new Set(plan.filter((entry) => entry.done).map((entry) => entry.name));
    report.remaining = await stillOwed(queue, state, done);
    if (report.remaining === 0) report.waitingUntil = null;
    // Posts stay queued and nothing said why (a failure of another process, or this call's time ran out
    // waiting for another retry): said.
    if (report.remaining > 0 && report.errors.length === 0 && !report.waitingUntil && !currentFailed) {
      if (outOfTime) why = "this command's time ran out before the queued posts were sent";
      else if (lost.aborted) why = "another retry took the queue over";
      report.errors.push(why ?? "the queued posts were not sent by this call");
    } else if (why) report.errors.push(why);
    return report;

    /** Removes a delivered entry (one whose file cannot be removed stays, counted as delivered). */
    async function clear(entry: PlannedEntry): Promise<void> {
      await queue.remove(entry.name);
      markDone(entry);
    }

    /** Counts an entry the issue shows as delivered, once. */
    function markDone(entry: PlannedEntry): void {
      if (entry.done) return;
      entry.done = true;
      report.sent++;
    }

    async function contextFor(item: QueueItem): Promise<WriteContext> {
      // An entry of another run whose create got no answer: not posted again before its window ends.
      const unsureUntil = item.unsure_until === null ? 0 : Date.parse(item.unsure_until);
      return {
        holdCreatesUntil: unsureUntil > clock.now() ? unsureUntil : null,
        client: await deps.client(item.api_url, { timeoutMs: deadline - timer.now() }),
        target: { repo: repoRef(item.repo), issueNumber: item.issue_number },
        pacer,
        viewer: viewers.get(item.api_url)?.viewer,
        viewerId: viewers.get(item.api_url)?.viewerId,
        timeLeft: () => deadline - timer.now(),
      };
    }
  }).catch(async (error: unknown) => {
    if (locked || !(error instanceof LockTimeoutError)) throw error;
    // Another retry (alive, or killed and its lease not yet over) held the queue all this command's time.
    const held = "another retry held the queue until this command's time ran out: nothing sent";
    await syncer.queueMissing(held); // so that the queue, and the count below, say what the issue lacks
    const { setAside } = await queue.list({ moveAside: false });
    await syncer.ensureBackgroundWriter();
    return {
      sent: 0,
      remaining: await stillOwed(queue, await store.read()),
      plan: [],
      owed: [],
      setAside,
      errors: [held],
      waitingUntil: null,
    };
  });
}

/**
 * What the issue still lacks after a retry: the queue's entries, but those with nothing left to send (`done`
 * by this call though their file could not be removed, and those the issue shows: see isDelivered), and
 * what the run owes that none of them holds because the queue folder could not take it (read-only, full:
 * the queue warned of it). A retry is not done while any remains, queued or not.
 */
async function stillOwed(
  queue: SyncDeps["queue"],
  state: RunState | null,
  done: ReadonlySet<string> = new Set(),
): Promise<number> {
  const { entries } = await queue.list();
  const plan = planRetry(entries, state);
  const queued = plan.filter((entry) => !done.has(entry.name));
  return stillQueued(queued) + owedPosts(plan, state).length;
}

/** GitHub failures that concern one queued entry's issue or post, not GitHub or the token as a whole. */
const ENTRY_TROUBLE: ReadonlySet<GitHubErrorKind> = new Set([
  "not-found",
  "forbidden",
  "validation",
  "unsettled",
]);
