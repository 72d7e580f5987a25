import { GitHubError } from "../errors.js";
import { redactSecrets } from "./redact.js";
import type { CallOptions, IssueComment, IssueCommentsClient } from "./types.js";

/**
 * A client given to the library (`client` in the reporter's options: tests, another transport) held to
 * what IssueCommentsClient promises, so that its trouble stays GitHub trouble (a warning and a queued
 * post, never the caller's rejection) and no call outlives the command's deadline:
 * - whatever it throws that is not a GitHubError (a TypeError, a string, a synchronous throw) becomes one,
 *   kind "network" (worth another try), the original kept as `cause`; a write's outcome is then unknown
 *   (a create is looked up before it is posted again);
 * - a GitHubError it throws keeps its kind and details, its message masked (withoutSecrets) as every
 *   message the built-in client builds is: it is warned about, kept in the run state and given to "sync"
 *   listeners;
 * - an answer that is not what the method returns (not a list of comments, a comment without a numeric
 *   id) is a GitHubError too;
 * - a call still running `GRACE_MS` after its `timeoutMs` is given up as a timeout (the client was to
 *   give up by then itself), a write's outcome unknown; what it does later is ignored.
 * The built-in Octokit client keeps these promises itself and is not wrapped.
 */
export function guardClient(
  client: IssueCommentsClient,
  /** The secrets to mask besides anything shaped like a token (the environment's tokens, the store's). */
  secrets: () => readonly string[],
): IssueCommentsClient {
  const guard = <T>(
    what: string,
    write: boolean,
    options: CallOptions | undefined,
    call: () => Promise<T>,
    problem: (answer: T) => string | null,
  ) => guarded({ what, write, secrets }, options, call, problem);
  return {
    viewer: (options) =>
      guard("reading the token's user", false, options, () => client.viewer(options), viewerAnswer),
    listComments: (repo, issue, options) =>
      guard("listing the comments", false, options, () => client.listComments(repo, issue, options), list),
    createComment: (repo, issue, body, options) =>
      guard("creating a comment", true, options, () => client.createComment(repo, issue, body, options), one),
    updateComment: (repo, id, body, options) =>
      guard("editing a comment", true, options, () => client.updateComment(repo, id, body, options), one),
    deleteComment: (repo, id, options) =>
      guard(
        "deleting a comment",
        true,
        options,
        () => client.deleteComment(repo, id, options),
        () => null,
      ),
  };
}

/** How long after its `timeoutMs` a call is given up (the client's own timeout error comes first). */
const GRACE_MS = 250;

async function guarded<T>(
  { what, write, secrets }: { what: string; write: boolean; secrets: () => readonly string[] },
  options: CallOptions | undefined,
  call: () => Promise<T>,
  /** Why the answer is not what the method returns, or null. */
  problem: (answer: T) => string | null,
): Promise<T> {
  try {
    const answer = await answerWithin(
      Promise.resolve().then(call), // a synchronous throw becomes a rejection
      options?.timeoutMs,
      (seconds) =>
        new GitHubError(`${what}: the GitHub client did not answer within ${seconds}s`, {
          kind: "timeout",
          outcomeUnknown: write,
        }),
    );
    const wrong = problem(answer);
    if (wrong !== null) {
      throw new GitHubError(`${what}: the GitHub client answered ${wrong}`, {
        kind: "network",
        outcomeUnknown: write,
      });
    }
    return answer;
  } catch (error) {
    if (error instanceof GitHubError) throw withoutSecrets(error, secrets());
    // No `cause`: the thrown value may hold a secret, and a logged error shows its cause.
    throw new GitHubError(`${what} failed: the GitHub client threw ${describe(error, secrets())}`, {
      kind: "network",
      outcomeUnknown: write,
    });
  }
}

/**
 * `work`'s answer, or the error `late` makes (given the seconds allowed) once `work` is still running
 * GRACE_MS after `timeoutMs` (undefined or not finite: no limit). What `work` does after that is ignored:
 * a rejection then is not unhandled.
 */
export async function answerWithin<T>(
  work: Promise<T>,
  timeoutMs: number | undefined,
  late: (seconds: number) => Error,
): Promise<T> {
  work.catch(() => undefined);
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return work;
  let timer: NodeJS.Timeout | undefined;
  const given = Math.max(0, timeoutMs);
  const timeUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late(Math.round(given / 100) / 10)), given + GRACE_MS);
  });
  try {
    return await Promise.race([work, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A given client's GitHubError with `secrets`, anything shaped like a token and Authorization values masked
 * in its message (redactSecrets): the error itself when there was nothing to mask, else a copy with the
 * same kind and details and no `cause` (the original holds the secret, and a logged error shows its cause).
 */
export function withoutSecrets(error: GitHubError, secrets: readonly string[]): GitHubError {
  const message = redactSecrets(error.message, secrets);
  if (message === error.message) return error;
  return new GitHubError(message, error); // every detail field, so none can be left behind
}

/** A thrown value in a few words, one line, `secrets` and anything shaped like a token masked. */
function describe(error: unknown, secrets: readonly string[]): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = redactSecrets(text, secrets).replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function viewerAnswer(answer: string | null): string | null {
  return answer === null || typeof answer === "string" ? null : `${typeof answer}, not a login or null`;
}

function list(answer: IssueComment[]): string | null {
  if (!Array.isArray(answer)) return `${answer === null ? "null" : typeof answer}, not a list of comments`;
  const bad = answer.find((comment) => comment === null || commentProblem(comment) !== null);
  return bad === undefined ? null : `a list holding ${commentProblem(bad) ?? "null"}`;
}

function one(answer: IssueComment): string | null {
  return commentProblem(answer);
}

/** Why a value is not an IssueComment as the product reads it, or null. */
function commentProblem(comment: IssueComment | null): string | null {
  if (typeof comment !== "object" || comment === null)
    return `${comment === null ? "null" : typeof comment}, not a comment`;
  if (!Number.isSafeInteger(comment.id)) return "a comment without a numeric id";
  if (typeof comment.body !== "string") return "a comment without a body";
  if (typeof comment.createdAt !== "string") return "a comment without createdAt";
  return null;
}
