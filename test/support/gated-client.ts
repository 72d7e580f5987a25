import { GitHubError } from "../../src/errors.js";
import type { IssueComment, RepoRef } from "../../src/github/types.js";
import { MemoryClient } from "./memory-client.js";

/**
 * A GitHub slow to answer one kind of write: while its gate is closed, each `gated` call waits at it
 * (`once`: only the next one; the gate then opens for the rest), then goes through, or fails as GitHub down
 * when `failHeld`. `waiting` counts the calls that waited.
 */
export class GatedClient extends MemoryClient {
  private gate: Promise<void> | null = null;
  private openGate: (() => void) | null = null;
  waiting = 0;
  failHeld = false;

  constructor(
    private readonly gated: "createComment" | "updateComment",
    private readonly once = false,
  ) {
    super();
  }

  close(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  open(): void {
    this.openGate?.();
    this.gate = null;
  }

  override async createComment(repo: RepoRef, issue: number, body: string): Promise<IssueComment> {
    await this.pass("createComment");
    return super.createComment(repo, issue, body);
  }

  override async updateComment(repo: RepoRef, id: number, body: string): Promise<IssueComment> {
    await this.pass("updateComment");
    return super.updateComment(repo, id, body);
  }

  private async pass(method: "createComment" | "updateComment"): Promise<void> {
    const gate = this.gate;
    if (method !== this.gated || !gate) return;
    if (this.once) this.gate = null;
    this.waiting++;
    await gate;
    if (this.failHeld) throw new GitHubError("GitHub is down", { kind: "server", status: 503 });
  }
}
