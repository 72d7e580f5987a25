import type { FakeIssueSeed, StoredComment } from "./types.js";

interface IssueState {
  locked: boolean;
}

/** Repositories, issues and comments. Names are case-insensitive like GitHub's; ids only grow. */
export class IssueStore {
  readonly #repos = new Map<string, string>();
  readonly #issues = new Map<string, IssueState>();
  readonly #comments = new Map<number, StoredComment>();
  readonly #seeds: readonly FakeIssueSeed[];
  #nextId = 2_000_000_001;

  constructor(repos: readonly string[], issues: readonly FakeIssueSeed[]) {
    for (const repo of repos) this.#repos.set(repo.toLowerCase(), repo);
    for (const seed of issues) this.#repos.set(seed.repo.toLowerCase(), seed.repo);
    this.#seeds = issues;
    this.reset();
  }

  reset(): void {
    this.#comments.clear();
    this.#issues.clear();
    for (const seed of this.#seeds) {
      this.#issues.set(issueKey(seed.repo, seed.number), { locked: seed.locked ?? false });
    }
  }

  /** The repository's canonical `owner/name`, or undefined when unknown. */
  repo(repo: string): string | undefined {
    return this.#repos.get(repo.toLowerCase());
  }

  issue(repo: string, issue: number): IssueState | undefined {
    return this.#issues.get(issueKey(repo, issue));
  }

  lock(repo: string, issue: number, locked: boolean): void {
    const state = this.issue(repo, issue);
    if (!state) throw new Error(`fake GitHub: no issue ${repo}#${issue}`);
    state.locked = locked;
  }

  list(repo: string, issue: number): StoredComment[] {
    const canonical = this.repo(repo);
    const found: StoredComment[] = [];
    for (const comment of this.#comments.values()) {
      if (comment.repo === canonical && comment.issue === issue) found.push({ ...comment });
    }
    return found;
  }

  get(id: number): StoredComment | undefined {
    return this.#comments.get(id);
  }

  create(repo: string, issue: number, body: string, author: string, now: number): StoredComment {
    const canonical = this.repo(repo);
    if (canonical === undefined || !this.issue(repo, issue)) {
      throw new Error(`fake GitHub: no issue ${repo}#${issue}`);
    }
    const comment: StoredComment = {
      id: this.#nextId++,
      repo: canonical,
      issue,
      body,
      author,
      createdAt: now,
      updatedAt: now,
    };
    this.#comments.set(comment.id, comment);
    return { ...comment };
  }

  update(id: number, body: string, now: number): StoredComment | undefined {
    const comment = this.#comments.get(id);
    if (!comment) return undefined;
    comment.body = body;
    comment.updatedAt = now;
    return { ...comment };
  }

  remove(id: number): boolean {
    return this.#comments.delete(id);
  }

  renameAuthor(from: string, to: string): void {
    for (const comment of this.#comments.values()) if (comment.author === from) comment.author = to;
  }
}

function issueKey(repo: string, issue: number): string {
  return `${repo.toLowerCase()}#${issue}`;
}
