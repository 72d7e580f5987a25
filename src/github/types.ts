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

/** Per call: the command's deadline, shared by all its requests (each method also has its own budget). */
export interface CallOptions {
  /** Epoch ms (the client's clock) by which the call gives up, retries and waits included. */
  deadline?: number;
}
