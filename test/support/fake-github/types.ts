/** Public types of the fake GitHub REST API used by integration, fault and benchmark tests. */

export interface FakeIssueSeed {
  repo: string;
  number: number;
  locked?: boolean;
}

export interface FakeGitHubOptions {
  /** token → login. Default `{ "test-token": "octo-bot" }`. */
  tokens?: Readonly<Record<string, string>>;
  /** `owner/name`. Default `["acme/widgets"]`; repos named in `issues` are added. */
  repos?: readonly string[];
  /** Default: issue 123 on acme/widgets. */
  issues?: readonly FakeIssueSeed[];
  /** Default 30; `per_page` is capped at 100 like GitHub. */
  perPageDefault?: number;
  /** Accepted writes (POST/PATCH/DELETE) per token in a rolling 60 s window. Default 80. */
  writesPerMinute?: number;
  /** Accepted writes per token in a rolling hour. Default 500. */
  writesPerHour?: number;
  /** Minimum gap between two accepted writes of one token. Default 0 (not enforced). */
  minWriteIntervalMs?: number;
  /** Core requests per token per hour (fixed window, as GitHub). Default 5000. */
  coreLimit?: number;
  /** GET /user answers 403 "Resource not accessible by integration" (GitHub App installation token). */
  viewerForbidden?: boolean;
  /** Status of a secondary-rate-limit answer. GitHub documents both; default 403. */
  secondaryLimitStatus?: 403 | 429;
  /** `retry-after` of a secondary-rate-limit answer, in seconds. Default 60. */
  secondaryRetryAfterSeconds?: number;
  /** Time source in ms since the epoch for timestamps and rate windows. Default `Date.now`. */
  clock?: () => number;
  /** Seed of the PRNG behind `failureRate` and `dropRate`. Default 0x5eed. */
  seed?: number;
  /** Port on 127.0.0.1. Default 0 (any free port). */
  port?: number;
  /** Serve https with this PEM key and certificate (the url then starts with https://). Default: http. */
  tls?: { key: string; cert: string };
}

/** One scripted answer; matched in order, first match wins, used up after `times` (default 1). */
export interface ScriptedAnswer {
  status: number;
  /** Matches the HTTP method, case-insensitive. Absent: any method. */
  method?: string;
  /** Matches when the request path (with query) contains this text. Absent: any path. */
  pathIncludes?: string;
  /** How many requests it answers; `Infinity` allowed. Default 1. */
  times?: number;
  headers?: Readonly<Record<string, string>>;
  /** Default: GitHub's message for that status. */
  message?: string;
}

export interface Faults {
  /** 0..1: answer 500/502/503 with GitHub-like JSON. */
  failureRate: number;
  /** 0..1: destroy the socket without answering. */
  dropRate: number;
  /** Accept requests and hold them until `hang` is cleared (then they proceed) or the server closes. */
  hang: boolean;
  /** GitHub is down: every request is answered 503 at once (until turned off). */
  down: boolean;
  /** Delay before every request is processed, in ms (a slow GitHub). */
  latencyMs: number;
  /** Process the next n comment creations, then destroy the socket without answering. */
  loseCreateResponses: number;
  /**
   * Hold the requests of this method (and path, when given) until `applyLate()`, then apply them even
   * when the client has given up meanwhile, as GitHub finishes a request it received. null: none held.
   */
  late: { method: string; pathIncludes?: string } | null;
  script: ScriptedAnswer[];
}

export interface StoredComment {
  id: number;
  repo: string;
  issue: number;
  body: string;
  author: string;
  /** ms since the epoch, from the injected clock. */
  createdAt: number;
  updatedAt: number;
}

/**
 * pending: accepted, not (yet) answered (e.g. hung); answered: a response was sent;
 * dropped: socket destroyed by `dropRate`; lost: processed, then the socket destroyed (`loseCreateResponses`).
 */
export type RequestOutcome = "pending" | "answered" | "dropped" | "lost";

export interface RequestRecord {
  method: string;
  /** Path with query string. */
  path: string;
  /** HTTP status sent, or that would have been sent for a lost response; 0 when none. */
  status: number;
  /** Arrival time from the injected clock. */
  at: number;
  /** Login of the token, or null (never the token itself). */
  user: string | null;
  outcome: RequestOutcome;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Snapshot of the request log, oldest first. */
  readonly requests: readonly RequestRecord[];
  /** Snapshot of the timestamps of accepted writes, oldest first. */
  readonly writes: readonly number[];
  /** Requests received and now waiting out `latencyMs` (so a test can change the latency behind them). */
  readonly delayed: number;
  /** Count of primary and secondary rate-limit answers (403/429). */
  readonly rateLimitResponses: number;
  /** Live comments of one issue, oldest first. */
  comments(repo: string, issue: number): StoredComment[];
  /** As if `author` posted through the web. Throws for an unknown repo or issue. */
  addComment(repo: string, issue: number, body: string, author: string): StoredComment;
  /** As if a human edited it through the web. Undefined when there is no such comment. */
  editComment(id: number, body: string): StoredComment | undefined;
  /** As if a human deleted it. Returns false when there was no such comment. */
  removeComment(id: number): boolean;
  /**
   * The account `from` renamed to `to`: its tokens, its numeric id and its comments stay its own, which
   * every answer now shows with the new login.
   */
  renameUser(from: string, to: string): void;
  /** Requests held by the `late` fault, not applied yet. */
  readonly lateHeld: number;
  /** Applies the requests held by `late` now (their clients may have given up); resolves once applied. */
  applyLate(): Promise<void>;
  /** Ends the requests held by `late` unapplied (their connections dropped): GitHub never got them. */
  dropLate(): Promise<void>;
  /** Merges into the current faults. */
  setFaults(faults: Partial<Faults>): void;
  clearFaults(): void;
  lockIssue(repo: string, issue: number, locked: boolean): void;
  /** Back to the initial issues, no comments, no faults, empty logs and rate windows. Ids keep growing. */
  reset(): void;
  /** Stops listening and ends every socket, hung and keep-alive ones included. */
  close(): Promise<void>;
}
