import { FaultInjector } from "./faults.js";
import { type HandlerEnv, handle } from "./handle.js";
import { RateLimits } from "./limits.js";
import { type Listening, listen } from "./server.js";
import { IssueStore } from "./store.js";
import type { FakeGitHub, FakeGitHubOptions, Faults, RequestRecord, StoredComment } from "./types.js";
import { UserDirectory } from "./users.js";

/** Most recent requests kept in the log; older ones are dropped so long benchmarks stay bounded. */
const MAX_LOG = 100_000;

/** The fake's state and its in-process control surface; `handle.ts` answers the HTTP side. */
class FakeGitHubServer implements FakeGitHub, HandlerEnv {
  url = "";
  closed = false;
  readonly clock: () => number;
  readonly tokens: Map<string, string>;
  readonly store: IssueStore;
  readonly users = new UserDirectory();
  readonly limits: RateLimits;
  readonly faults: FaultInjector;
  readonly perPageDefault: number;
  readonly viewerForbidden: boolean;
  readonly secondaryLimitStatus: 403 | 429;
  readonly secondaryRetryAfterSeconds: number;
  #log: RequestRecord[] = [];
  #writes: number[] = [];
  #rateLimited = 0;
  readonly #timers = new Map<NodeJS.Timeout, () => void>();
  #listening: Listening | undefined;

  constructor(options: FakeGitHubOptions) {
    this.clock = options.clock ?? Date.now;
    this.tokens = new Map(Object.entries(options.tokens ?? { "test-token": "octo-bot" }));
    for (const login of this.tokens.values()) this.users.idOf(login);
    this.store = new IssueStore(
      options.repos ?? ["acme/widgets"],
      options.issues ?? [{ repo: "acme/widgets", number: 123 }],
    );
    this.limits = new RateLimits(
      {
        coreLimit: options.coreLimit ?? 5000,
        writesPerMinute: options.writesPerMinute ?? 80,
        writesPerHour: options.writesPerHour ?? 500,
        minWriteIntervalMs: options.minWriteIntervalMs ?? 0,
      },
      this.clock,
    );
    this.faults = new FaultInjector(options.seed ?? 0x5eed);
    this.perPageDefault = options.perPageDefault ?? 30;
    this.viewerForbidden = options.viewerForbidden ?? false;
    this.secondaryLimitStatus = options.secondaryLimitStatus ?? 403;
    this.secondaryRetryAfterSeconds = options.secondaryRetryAfterSeconds ?? 60;
  }

  async start(port: number, tls: FakeGitHubOptions["tls"]): Promise<void> {
    this.#listening = await listen(
      port,
      (req, res) => {
        handle(this, req, res).catch(() => res.destroy());
      },
      tls,
    );
    this.url = this.#listening.url;
  }

  get requests(): readonly RequestRecord[] {
    return this.#log.map((record) => ({ ...record }));
  }

  get delayed(): number {
    return this.#timers.size;
  }

  get writes(): readonly number[] {
    return [...this.#writes];
  }

  get rateLimitResponses(): number {
    return this.#rateLimited;
  }

  log(record: RequestRecord): void {
    this.#log.push(record);
    if (this.#log.length > MAX_LOG) this.#log.splice(0, this.#log.length - MAX_LOG);
  }

  recordWrite(login: string, at: number): void {
    this.limits.recordWrite(login, at);
    this.#writes.push(at);
    if (this.#writes.length > MAX_LOG) this.#writes.splice(0, this.#writes.length - MAX_LOG);
  }

  countRateLimited(): void {
    this.#rateLimited += 1;
  }

  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.set(timer, resolve);
    });
  }

  comments(repo: string, issue: number): StoredComment[] {
    return this.store.list(repo, issue);
  }

  addComment(repo: string, issue: number, body: string, author: string): StoredComment {
    return this.store.create(repo, issue, body, author, this.clock());
  }

  editComment(id: number, body: string): StoredComment | undefined {
    return this.store.update(id, body, this.clock());
  }

  removeComment(id: number): boolean {
    return this.store.remove(id);
  }

  renameUser(from: string, to: string): void {
    this.users.rename(from, to);
    for (const [token, login] of this.tokens) if (login === from) this.tokens.set(token, to);
    this.store.renameAuthor(from, to);
  }

  get lateHeld(): number {
    return this.faults.lateHeld;
  }

  applyLate(): Promise<void> {
    return this.faults.endLate(true);
  }

  dropLate(): Promise<void> {
    return this.faults.endLate(false);
  }

  setFaults(faults: Partial<Faults>): void {
    this.faults.set(faults);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  lockIssue(repo: string, issue: number, locked: boolean): void {
    this.store.lock(repo, issue, locked);
  }

  reset(): void {
    this.store.reset();
    this.limits.reset();
    this.faults.clear();
    this.#log = [];
    this.#writes = [];
    this.#rateLimited = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer);
      resolve();
    }
    this.#timers.clear();
    this.faults.release();
    void this.faults.endLate(false);
    await this.#listening?.close();
  }
}

/** Starts the fake GitHub REST API on 127.0.0.1 (a free port unless `options.port`; https with `options.tls`). */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = new FakeGitHubServer(options);
  await fake.start(options.port ?? 0, options.tls);
  return fake;
}
