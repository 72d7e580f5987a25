import type { CallOptions, IssueComment, RepoRef } from "../../src/github/types.js";
import { MemoryClient } from "./memory-client.js";

/**
 * A MemoryClient whose every call first goes through `before` with the call's options: a GitHub that
 * takes time (on a test's injected clock), hangs, or gives up when the caller's time is up.
 */
export class TimedClient extends MemoryClient {
  constructor(private readonly before: (options?: CallOptions) => Promise<void>) {
    super();
  }
  override async viewer(options?: CallOptions): Promise<string | null> {
    await this.before(options);
    return super.viewer();
  }
  override async listComments(repo: RepoRef, issue: number, options?: CallOptions): Promise<IssueComment[]> {
    await this.before(options);
    return super.listComments(repo, issue);
  }
  override async createComment(repo: RepoRef, issue: number, body: string, options?: CallOptions) {
    await this.before(options);
    return super.createComment(repo, issue, body);
  }
  override async updateComment(repo: RepoRef, id: number, body: string, options?: CallOptions) {
    await this.before(options);
    return super.updateComment(repo, id, body);
  }
  override async deleteComment(repo: RepoRef, id: number, options?: CallOptions): Promise<void> {
    await this.before(options);
    return super.deleteComment(repo, id);
  }
}
