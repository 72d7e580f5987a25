import { GitHubError } from "../../src/errors.js";
import type { IssueComment, IssueCommentsClient, RepoRef } from "../../src/github/types.js";

/**
 * An in-memory IssueCommentsClient for fast unit tests of the sync logic (the integration tests use
 * the HTTP fake in test/support/fake-github instead). `failNext` makes the next calls fail.
 */
export class MemoryClient implements IssueCommentsClient {
  comments: IssueComment[] = [];
  calls: string[] = [];
  failures: GitHubError[] = [];
  /** While set, every call fails with it (GitHub down). */
  down: GitHubError | null = null;
  /** Create the next comment but report an unknown outcome. */
  loseNextCreate = false;
  private nextId = 1;
  private time = Date.parse("2025-10-19T16:30:00Z");

  constructor(readonly login: string | null = "octo-bot") {}

  failNext(...errors: GitHubError[]): void {
    this.failures.push(...errors);
  }

  private maybeFail(): void {
    if (this.down) throw this.down;
    const failure = this.failures.shift();
    if (failure) throw failure;
  }

  async viewer(): Promise<string | null> {
    this.calls.push("viewer");
    this.maybeFail();
    return this.login;
  }

  async listComments(_repo: RepoRef, _issue: number): Promise<IssueComment[]> {
    this.calls.push("list");
    this.maybeFail();
    return this.comments.map((c) => ({ ...c }));
  }

  add(body: string, author: string | null): IssueComment {
    this.time += 1000;
    const comment = {
      id: this.nextId++,
      body,
      author,
      createdAt: new Date(this.time).toISOString(),
      htmlUrl: `https://github.com/o/r/issues/1#issuecomment-${this.nextId - 1}`,
    };
    this.comments.push(comment);
    return comment;
  }

  async createComment(_repo: RepoRef, _issue: number, body: string): Promise<IssueComment> {
    this.calls.push("create");
    this.maybeFail();
    const comment = this.add(body, this.login ?? "bot[bot]");
    if (this.loseNextCreate) {
      this.loseNextCreate = false;
      throw new GitHubError("lost", { kind: "network", outcomeUnknown: true });
    }
    return { ...comment };
  }

  async updateComment(_repo: RepoRef, id: number, body: string): Promise<IssueComment> {
    this.calls.push(`update:${id}`);
    this.maybeFail();
    const comment = this.comments.find((c) => c.id === id);
    if (!comment) throw new GitHubError("not found", { kind: "not-found", status: 404 });
    comment.body = body;
    return { ...comment };
  }

  async deleteComment(_repo: RepoRef, id: number): Promise<void> {
    this.calls.push(`delete:${id}`);
    this.maybeFail();
    const index = this.comments.findIndex((c) => c.id === id);
    if (index < 0) throw new GitHubError("not found", { kind: "not-found", status: 404 });
    this.comments.splice(index, 1);
  }
}
