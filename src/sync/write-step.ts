import { GitHubError } from "../errors.js";
import type { IssueComment, RepoRef } from "../github/types.js";
import type { RunState, SyncState } from "../model/types.js";
import type { Clock } from "../util/io.js";
import {
  appendProgressComment,
  postFinalComment,
  result,
  type WriteContext,
  writeProgressComment,
} from "./comments.js";
import { postQueuedHistory } from "./history.js";
import { releaseHeld, renewHeld } from "./leases.js";
import { Pacer, type RequestTimes } from "./pacer.js";
import { clearDelivered, enqueue } from "./queueing.js";
import { recordFailure, recordWrite } from "./record.js";
import { renderBody } from "./render-body.js";
import type { Claim, Listing, Step, StepResult, SyncDeps } from "./syncer-types.js";
import { RENEW_AFTER_MS, UNANSWERED_WINDOW_MS } from "./timings.js";

/** The write lease was taken over while this process was not looking (it stalled past its expiry). */
class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

export function repoRef(repo: string): RepoRef {
  const [owner = "", name = ""] = repo.split("/");
  return { owner, name };
}

/** A write won by a claim: the step it writes, and what the current flush knows of the issue. */
interface StepWrite {
  claim: Claim;
  step: Step;
  /** Epoch ms (this process's timer, SyncDeps.timer) by which the write gives up. */
  deadline: number;
  /** The caller writes on until the issue is up to date (see StepOptions). */
  keepWriting: boolean;
  /** The issue's comments as this flush listed them, when no write of the run happened since. */
  listed: readonly IssueComment[] | null;
  /** When this process's last request ended: kept across its writes (see Pacer). */
  requests: RequestTimes;
}

/**
 * Does the write a claim won: renders the body, writes it under the lease, and records the outcome; a
 * GitHub failure is queued, recorded and warned about. Returns the result, and the issue's comments as
 * this write listed them (for the next write of a flush), or null.
 */
export async function writeStep(
  deps: SyncDeps,
  leaseMs: number,
  { claim, step, deadline, keepWriting, listed, requests }: StepWrite,
): Promise<{ result: StepResult; listing: Listing | null }> {
  const { state, now: startedAt, previousWriteAt } = claim;
  let body: string;
  try {
    // At the store's clock (the claim's): a machine whose clock is off would mark agents stalled, or not,
    // and estimate from times the database stamped.
    body = await renderBody(state, step, startedAt, deps.maskState);
  } catch (error) {
    await releaseHeld(deps.store, "lease", deps.owner);
    throw error;
  }
  // Kept for the catch: what it learned of a request that timed out.
  let context: WriteContext | null = null;
  try {
    const client = await deps.client(state.github.apiUrl, { timeoutMs: deadline - deps.timer.now() });
    context = {
      client,
      target: { repo: repoRef(state.github.repo!), issueNumber: state.github.issueNumber! },
      // The lease was taken for a write due now; further writes of this step wait their turn.
      pacer: new Pacer({
        clock: deps.timer,
        intervalMs: state.github.minIntervalMs,
        sleep: deps.sleep,
        requests,
        before: leaseKeeper(deps, leaseMs),
        deadline,
      }),
      viewer: state.sync.viewer ?? undefined,
      viewerId: state.sync.viewerId,
      timeLeft: () => deadline - deps.timer.now(),
      holdCreatesUntil: heldUntil(deps.clock, state.sync, startedAt),
    };
    // The run's queued history first, in either mode: a run switched to edit mode since still owes it.
    const history = await postQueuedHistory(context, deps, state);
    const written =
      step === "final"
        ? await postFinalComment(context, {
            runId: state.runId,
            body,
            listed,
            progressCommentId: state.sync.commentId,
          })
        : state.github.commentMode === "append"
          ? await append(context, state, body, history)
          : await writeProgressComment(context, {
              runId: state.runId,
              seq: state.seq,
              body,
              commentId: state.sync.commentId,
              converge: state.completedAt !== null,
              fresh: previousWriteAt === 0,
              latestSeq: () =>
                deps.store.read().then(
                  (latest) => (latest?.runId === state.runId ? latest.seq : null),
                  () => null,
                ),
            });
    const writeAt = await recordWrite(deps, state, step, startedAt, keepWriting, {
      commentId: written.comment.id,
      url: written.comment.htmlUrl,
      viewer: written.viewer,
      viewerId: written.viewerId,
    });
    await clearDelivered(deps, state, step);
    const listing =
      keepWriting && context.listed && writeAt !== null
        ? { runId: state.runId, comments: context.listed, writeAt }
        : null;
    return { result: { kind: "wrote", step, url: written.comment.htmlUrl }, listing };
  } catch (error) {
    // Another process holds the lease now and brings the issue up to date: nothing was sent.
    if (error instanceof LeaseLostError) {
      return {
        result: { kind: "none", decision: { kind: "busy", until: startedAt }, now: startedAt },
        listing: null,
      };
    }
    let queuedAs: string | null;
    try {
      if (!(error instanceof GitHubError)) throw error;
      const unanswered = context?.unanswered ?? null;
      const unsureUntil = unanswered === "create" ? deps.clock.now() + UNANSWERED_WINDOW_MS : null;
      ({ name: queuedAs } = await enqueue(deps, state, step, body, error.message, {
        outcomeUnknown: error.outcomeUnknown,
        unsureUntil,
      }));
      await recordFailure(deps, state, step, error, unanswered, claim);
    } catch (failure) {
      // The store (or the queue) failed after a request may have reached GitHub, recording its outcome or
      // renewing the lease: the lease is released with the interval counted from now, or the next writer
      // could follow that request within it, or wait out the lease.
      await releaseHeld(deps.store, "lease", deps.owner, { intervalFromNow: true });
      throw failure;
    }
    const kept = queuedAs ? `queued as ${queuedAs}` : "not queued (the queue folder cannot be written)";
    deps.warn(`GitHub: ${error.message}; the update is ${kept}`);
    return { result: { kind: "failed", step, error, queuedAs }, listing: null };
  }
}

/**
 * Before each request of a write: renews the lease unless it was taken or renewed within the last
 * second, so no request starts with less than the lease minus a second left, and none starts once the
 * lease was lost. (The client gives up on a request within 10 s, well inside the 15 s lease.)
 */
function leaseKeeper({ timer, owner, store }: SyncDeps, leaseMs: number): () => Promise<void> {
  let renewedAt = timer.now();
  return async () => {
    if (timer.now() - renewedAt < RENEW_AFTER_MS) return;
    const held = await renewHeld(store, "lease", owner, leaseMs);
    if (!held) throw new LeaseLostError("the write lease was taken over");
    renewedAt = timer.now();
  };
}

/** The run's unanswered create's window on this process's clock while it lasts (`storeNow`: the store's). */
function heldUntil(clock: Clock, sync: SyncState, storeNow: number): number | null {
  const until = sync.unsureCreate?.until ?? 0;
  return until > storeNow ? clock.now() + (until - storeNow) : null;
}

/** Append mode: this state's comment (once), unless `queued`, the run's queued history, held it. */
async function append(context: WriteContext, state: RunState, body: string, queued: IssueComment | null) {
  if (queued) return result(context, queued);
  return appendProgressComment(context, {
    runId: state.runId,
    seq: state.seq,
    body,
    // After a failure (perhaps a create whose answer was lost) look before posting again.
    lookFirst: state.sync.consecutiveFailures > 0 || state.sync.unsureCreate !== null,
  });
}
