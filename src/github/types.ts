/** A repository, as `owner/name` splits. */
export interface RepoRef {
  owner: string;
  name: string;
}

/** An issue comment as this product needs it. */
export interface IssueComment {
  id: number;
  body: string;
  /** Author's login; null for a deleted ("ghost") user. */
  author: string | null;
  /**
   * Author's numeric id (GitHub's `user.id`), which a rename of the account leaves as it is; null for a
   * deleted ("ghost") user. A client that leaves it out has comments told apart by login alone.
   */
  authorId?: number | null;
  createdAt: string;
  htmlUrl: string;
}

/**
 * The GitHub operations the product uses, behind an interface (release-please's `Scm`):
 * the Octokit implementation talks to api.github.com or GHES; tests may use another.
 * Every method throws only GitHubError (see src/errors.ts), never Octokit's errors.
 */
export interface IssueCommentsClient {
  /** Login of the token's user; null when the token cannot read /user (GitHub App installation tokens). */
  viewer(options?: CallOptions): Promise<string | null>;
  /** All comments of the issue, oldest first, following every page (`Link: rel="next"`). */
  listComments(repo: RepoRef, issueNumber: number, options?: CallOptions): Promise<IssueComment[]>;
  /** Creates a comment. Never resent automatically: a lost answer surfaces as `outcomeUnknown`. */
  createComment(
    repo: RepoRef,
    issueNumber: number,
    body: string,
    options?: CallOptions,
  ): Promise<IssueComment>;
  updateComment(repo: RepoRef, commentId: number, body: string, options?: CallOptions): Promise<IssueComment>;
  deleteComment(repo: RepoRef, commentId: number, options?: CallOptions): Promise<void>;
}

/** Per call: what is left of the command's deadline, shared by all its requests. */
export interface CallOptions {
  /**
   * The most this call may take, retries and waits included (the method's own budget still applies).
   * A duration, not a time, so the caller's clock and the client's need not agree.
   */
  timeoutMs?: number;
}
