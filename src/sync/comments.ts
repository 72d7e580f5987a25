import { GitHubError } from "../errors.js";
import type { CallOptions, IssueComment, IssueCommentsClient, RepoRef } from "../github/types.js";
import { parseMarker } from "../render/marker.js";
import type { Pacer } from "./pacer.js";

/**
 * Finding and writing this run's comments on the issue. A comment belongs to the run when it carries
 * the run's hidden marker AND was written by the token's own user, so nobody else's comment is ever
 * edited or deleted, and a marker pasted by someone else is ignored. The token's user is told by its
 * numeric id, which a rename of the account leaves as it is; by its login only until the id is known.
 */

interface IssueTarget {
  repo: RepoRef;
  issueNumber: number;
}

export interface WriteContext {
  client: IssueCommentsClient;
  target: IssueTarget;
  pacer: Pacer;
  /**
   * The token's login: undefined until asked; null when the token cannot read /user (a GitHub App
   * installation token), so that it is asked once per write, not at every lookup.
   */
  viewer: string | null | undefined;
  /**
   * The token's user's numeric id: undefined or null until learned, from a comment it created or one the
   * issue shows by its login (or the run's recorded comment, whatever its login now).
   */
  viewerId?: number | null | undefined;
  /** Every comment of the issue as the last lookup through this context found them (set by each lookup). */
  listed?: readonly IssueComment[] | null;
  /** What is left of the command's deadline (ms): every request of this write gives up by then. */
  timeLeft: () => number;
  /**
   * An earlier create of the run got no answer and may still appear until then (epoch ms, this process's
   * clock; set only while that time is ahead): no comment is created through this context (lookups still
   * find it). Absent or null: creates go ahead.
   */
  holdCreatesUntil?: number | null;
  /**
   * Set when a write of this context timed out after sending (GitHub may still apply it): an edit may
   * still overwrite a newer body, a create may still appear.
   */
  unanswered?: "edit" | "create" | null;
}

export interface WriteResult {
  comment: IssueComment;
  viewer: string | null;
  viewerId: number | null;
}

/** The token's user as a context knows it (`viewer` asked already). */
type Who = Pick<WriteContext, "viewer" | "viewerId">;

function isOwnComment(comment: IssueComment, who: Who): boolean {
  // The id survives a rename of the account, which shows the new login on all of its comments.
  if (typeof who.viewerId === "number" && typeof comment.authorId === "number")
    return comment.authorId === who.viewerId;
  if (typeof who.viewer === "string") return comment.author === who.viewer;
  // Tokens that cannot read /user are GitHub App installation tokens, whose comments are by a bot.
  return comment.author?.endsWith("[bot]") ?? false;
}

/**
 * Learns the token's user's id from a listing, when not known yet (a run whose state an earlier release
 * wrote, or whose create got no answer): from a comment by its login, else from `knownId`, the run's
 * recorded comment, which is the token's user's whatever login it shows now (the account renamed since).
 */
function learnViewer(context: WriteContext, comments: readonly IssueComment[], knownId: number | null) {
  if (typeof context.viewerId === "number") return;
  const byLogin = comments.find(
    (comment) => typeof context.viewer === "string" && comment.author === context.viewer,
  );
  const mine = byLogin ?? comments.find((comment) => comment.id === knownId);
  if (typeof mine?.authorId !== "number") return;
  context.viewerId = mine.authorId;
  if (mine.author !== null) context.viewer = mine.author;
}

type CommentKind = "progress" | "history" | "final";

/** The run's own comments of a kind, oldest first. */
function runComments(
  comments: readonly IssueComment[],
  who: Who,
  runId: string,
  kind: CommentKind,
  seq?: number,
): IssueComment[] {
  return comments
    .filter((comment) => {
      if (!isOwnComment(comment, who)) return false;
      const marker = parseMarker(comment.body);
      return marker?.kind === kind && marker.runId === runId && (seq === undefined || marker.seq === seq);
    })
    .sort(oldestFirst);
}

function oldestFirst(a: IssueComment, b: IssueComment): number {
  return a.createdAt.localeCompare(b.createdAt) || a.id - b.id;
}

function call(context: WriteContext): CallOptions {
  return { timeoutMs: context.timeLeft() };
}

async function knownViewer(context: WriteContext): Promise<string | null> {
  if (context.viewer === undefined) context.viewer = await context.client.viewer(call(context));
  return context.viewer;
}

async function listRunComments(
  context: WriteContext,
  runId: string,
  kind: CommentKind,
  seq?: number,
  knownId: number | null = null,
) {
  await knownViewer(context);
  const all = await context.client.listComments(
    context.target.repo,
    context.target.issueNumber,
    call(context),
  );
  context.listed = all;
  learnViewer(context, all, knownId);
  return runComments(all, context, runId, kind, seq);
}

/** The creates held back by `holdCreatesUntil`: one more lookup finds the comment, or waits till then. */
function heldCreate(until: number): GitHubError {
  const at = new Date(until).toISOString().slice(11, 19);
  return new GitHubError(
    `not posted again yet: an earlier post of it got no answer and may still appear until ${at} UTC; not on the issue so far: looked up again then, and posted if still missing`,
    { kind: "unsettled", retryAt: until },
  );
}

/** Whether GitHub may still apply this failed write later: it timed out after sending. */
function unanswered(error: unknown): boolean {
  return error instanceof GitHubError && error.outcomeUnknown && error.kind === "timeout";
}

async function create(context: WriteContext, body: string, find: () => Promise<IssueComment[]>) {
  if (context.holdCreatesUntil) throw heldCreate(context.holdCreatesUntil);
  try {
    const created = await context.pacer.write(() =>
      context.client.createComment(context.target.repo, context.target.issueNumber, body, call(context)),
    );
    // Created with the token: its author is the token's user, by login and id.
    context.viewerId = created.authorId ?? context.viewerId;
    return created;
  } catch (error) {
    // The create may have landed although its answer was lost: look before anyone posts it again. Not
    // after a timeout: a GitHub that hangs would hang the lookup too (the retry looks before posting).
    if (error instanceof GitHubError && error.outcomeUnknown && error.kind !== "timeout") {
      const found = await find().catch(() => []);
      if (found[0]) return found[0];
    }
    if (unanswered(error)) context.unanswered = "create";
    throw error;
  }
}

/** Edits a comment of the run (paced); a timed-out edit is marked, as GitHub may still apply it later. */
async function update(context: WriteContext, commentId: number, body: string) {
  try {
    return await context.pacer.write(() =>
      context.client.updateComment(context.target.repo, commentId, body, call(context)),
    );
  } catch (error) {
    if (unanswered(error)) context.unanswered = "edit";
    throw error;
  }
}

/** A write's outcome: `comment`, one of the run's, and who the token's user is as far as known. */
export function result(context: WriteContext, comment: IssueComment): WriteResult {
  return {
    comment,
    viewer: context.viewer ?? comment.author,
    viewerId: context.viewerId ?? comment.authorId ?? null,
  };
}

/**
 * Edit mode: brings the run's single progress comment to `body`. Edits the known comment; when it is
 * gone (deleted by someone) or unknown, or when `converge` is set, looks the run's comments up by
 * marker (and the known one by id, whatever its marker): the oldest stays, duplicates are deleted, and
 * none found means one is created. Only `progress` markers count: the history that append mode posted
 * (`history` markers), before or after a switch of mode, is never edited or deleted. `fresh`: no
 * write of this run was ever attempted, so none of its comments can exist: created without a lookup
 * (one request; the created comment says who the token is).
 */
export async function writeProgressComment(
  context: WriteContext,
  args: {
    runId: string;
    seq: number;
    body: string;
    commentId: number | null;
    converge: boolean;
    fresh?: boolean;
    latestSeq?: LatestSeq;
  },
): Promise<WriteResult> {
  if (args.commentId === null && args.fresh && !args.converge) {
    const find = () => listRunComments(context, args.runId, "progress");
    return result(context, await create(context, args.body, find));
  }
  if (args.commentId !== null && !args.converge) {
    try {
      return result(context, await update(context, args.commentId, args.body));
    } catch (error) {
      if (!(error instanceof GitHubError && error.kind === "not-found")) throw error;
    }
  }
  const found = await converge(context, args);
  if (found) return found;
  const find = () => listRunComments(context, args.runId, "progress");
  return result(context, await create(context, args.body, find));
}

/**
 * Edit mode, the mark of a run abandoned by `init --force`: brings the run's progress comment, looked up by
 * marker, to `body` as writeProgressComment does, but never creates one (a comment deleted, or never
 * posted, is not posted to be marked). Null when the issue shows none; while a create of it may still
 * appear (`holdCreatesUntil`), it fails as unsettled, to be looked up again then.
 */
export async function markProgressComment(
  context: WriteContext,
  args: { runId: string; seq: number; body: string },
): Promise<WriteResult | null> {
  const found = await converge(context, { ...args, commentId: null });
  if (found || !context.holdCreatesUntil) return found;
  const at = new Date(context.holdCreatesUntil).toISOString().slice(11, 19);
  throw new GitHubError(
    `not marked abandoned yet: the run's progress comment, not on the issue so far, may still appear until ${at} UTC (a write of it was in progress or got no answer); looked up again then, and marked if it is there`,
    { kind: "unsettled", retryAt: context.holdCreatesUntil },
  );
}

/**
 * The highest seq the run has reached, re-read from the store under the write lease (no other write of
 * the run can start meanwhile); null when it cannot be told (the store did not answer, the run replaced).
 */
type LatestSeq = () => Promise<number | null>;

/**
 * Whether `onIssue`, a progress comment's seq, is above any state the run has reached: then it is none
 * of the run's (someone edited the marker) and the comment is rewritten. Without `latestSeq`, or when it
 * cannot tell, a seq above the write's own is taken for a newer state, as it may be.
 */
async function beyondRun(onIssue: number, latestSeq: LatestSeq | undefined): Promise<boolean> {
  const latest = latestSeq ? await latestSeq() : null;
  return latest !== null && onIssue > latest;
}

/**
 * Looks the run's progress comments up by marker (and the known one by id, whatever its marker): the
 * oldest is brought to `body`, duplicates are deleted. Null when the issue shows none.
 */
async function converge(
  context: WriteContext,
  args: { runId: string; seq: number; body: string; commentId: number | null; latestSeq?: LatestSeq },
): Promise<WriteResult | null> {
  const { repo } = context.target;
  const marked = await listRunComments(context, args.runId, "progress", undefined, args.commentId);
  // The known comment is the run's even when someone edited its marker away (an update edits it by id
  // all the same): kept, and its marker written back, rather than a second comment created.
  const known = context.listed?.find(
    (comment) => comment.id === args.commentId && isOwnComment(comment, context) && !marked.includes(comment),
  );
  const [keep, ...duplicates] = known ? [...marked, known].sort(oldestFirst) : marked;
  if (!keep) return null;
  for (const duplicate of duplicates) {
    await context.pacer
      .write(() => context.client.deleteComment(repo, duplicate.id, call(context)))
      .catch((error: unknown) => {
        if (!(error instanceof GitHubError && error.kind === "not-found")) throw error;
      });
  }
  const onIssue = parseMarker(keep.body)?.seq ?? 0;
  // The issue shows a newer state (another writer's): left alone. Not a seq above any the run reached.
  if (onIssue > args.seq && !(await beyondRun(onIssue, args.latestSeq))) return result(context, keep);
  if (onIssue === args.seq && keep.body === args.body) return result(context, keep);
  return result(context, await update(context, keep.id, args.body));
}

/**
 * Append mode: one new comment per write, as the original design did; never twice for the same seq. Looked
 * up by the body's own marker kind (`history`; `progress` in an entry queued by an earlier version).
 */
export async function appendProgressComment(
  context: WriteContext,
  args: { runId: string; seq: number; body: string; lookFirst: boolean },
): Promise<WriteResult> {
  const kind = parseMarker(args.body)?.kind === "progress" ? "progress" : "history";
  const find = () => listRunComments(context, args.runId, kind, args.seq);
  if (args.lookFirst) {
    const [existing] = await find();
    if (existing) return result(context, existing);
  }
  return result(context, await create(context, args.body, find));
}

/**
 * The final summary: a new comment (so subscribers are notified), posted exactly once per run. `listed`:
 * the issue's comments as listed since the last write of this run by anyone (the lookup is not repeated).
 * `progressCommentId`: the run's progress comment, never taken for its final summary, whatever marker
 * someone gave it (the next write of the progress comment writes its marker back).
 */
export async function postFinalComment(
  context: WriteContext,
  args: {
    runId: string;
    body: string;
    listed?: readonly IssueComment[] | null;
    progressCommentId?: number | null;
  },
) {
  const notProgress = (comments: IssueComment[]) =>
    comments.filter((comment) => comment.id !== args.progressCommentId);
  const find = async () =>
    notProgress(
      await listRunComments(context, args.runId, "final", undefined, args.progressCommentId ?? null),
    );
  if (args.listed) {
    await knownViewer(context);
    learnViewer(context, args.listed, args.progressCommentId ?? null);
  }
  const [existing] = args.listed
    ? notProgress(runComments(args.listed, context, args.runId, "final"))
    : await find();
  if (existing) return result(context, existing);
  return result(context, await create(context, args.body, find));
}
