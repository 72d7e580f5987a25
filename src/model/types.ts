/** The states an agent can be in. `cancelled` is set only by the cancel command. */
export const AGENT_STATUSES = ["pending", "in_progress", "completed", "failed", "cancelled"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** The statuses `update --status` accepts. */
export const UPDATE_STATUSES = ["pending", "in_progress", "completed", "failed"] as const;
/** A status an update may report (`cancelled` is cancelAgent's). */
export type UpdateStatus = (typeof UPDATE_STATUSES)[number];

/** Statuses after which an agent does no more work. */
export const FINISHED_STATUSES: readonly AgentStatus[] = ["completed", "failed", "cancelled"];

export type CommentMode = "edit" | "append";

/** One agent (one domain) of a run. Times are ISO 8601 strings (UTC). */
export interface AgentState {
  agentId: string;
  domain: string;
  status: AgentStatus;
  filesCompleted: number;
  filesTotal: number;
  /** When the agent first left `pending`, if it has. */
  startedAt: string | null;
  /** When the agent last reported anything. */
  updatedAt: string;
  /**
   * When its status was last reported (update, complete, fail, cancel): the store's clock, or when a
   * change kept while the store did not answer was made. Absent or null: not recorded (an older run).
   */
  reportedAt?: string | null;
  /** When the agent reached `completed` or `failed`. */
  finishedAt: string | null;
  /** Result summary given by `complete`. */
  summary: string | null;
  /** Failure reason given by `fail` (or the reason given by `cancel`). */
  error: string | null;
  /** The agent's latest events (`log`), oldest first, at most MAX_AGENT_EVENTS; a parent's include its children's. */
  events: AgentEvent[];
  /**
   * The agent this one was added under (`add --parent`); absent or null: a top-level agent. Set once,
   * to an agent that already exists, so the agents form a tree (no cycles). A parent's `filesCompleted`
   * and `filesTotal` are its children's sums, kept up to date in the same change as the child's.
   */
  parentId?: string | null;
  /** Metrics reported by `update` (absent or null: never reported). See metrics.ts. */
  iteration?: number | null;
  maxIterations?: number | null;
  criteriaVerified?: number | null;
  criteriaTotal?: number | null;
  /** The agent's own cost so far in US dollars (a parent's shown cost adds its children's). */
  costUsd?: number | null;
}

/** What `update` may report besides status and files (library: `updateAgentProgress`'s last argument). */
export interface AgentMetrics {
  iteration?: number;
  maxIterations?: number;
  criteriaVerified?: number;
  criteriaTotal?: number;
  costUsd?: number;
}

/** One entry of an agent's event log. */
export interface AgentEvent {
  /** ISO 8601 time. */
  at: string;
  message: string;
  /** The descendant that logged it, for an event shown in its parent's log; absent for the agent's own. */
  agentId?: string;
}

/** How many events each agent keeps in the run state (the comment shows fewer). */
export const MAX_AGENT_EVENTS = 10;

/** Default time without a report after which an unfinished agent is shown as stalled. */
export const DEFAULT_STALL_AFTER_MS = 15 * 60_000;

/** Where the run is posted. Absent issue: local tracking only. */
export interface GitHubTarget {
  issueNumber: number | null;
  /** `owner/name`, resolved at init (flag, task.md, GITHUB_REPOSITORY, git origin). */
  repo: string | null;
  /** REST API base URL, resolved at init (flag, GITHUB_API_URL, api.github.com). */
  apiUrl: string;
  syncEnabled: boolean;
  commentMode: CommentMode;
  /** Minimum time between two writes of this run, across processes. */
  minIntervalMs: number;
  /**
   * The settings a caller gave (a flag, a library option) on some command of this run: task.md, read
   * again later on this machine or first on another, does not override them, as a flag wins over
   * task.md. Absent (runs of earlier releases): none.
   */
  given?: GivenSetting[];
}

/** The settings a caller may give with a flag or an option, and task.md with its `github` block. */
export const GIVEN_SETTINGS = ["commentMode", "issueNumber", "minIntervalMs", "repo"] as const;
export type GivenSetting = (typeof GIVEN_SETTINGS)[number];

/**
 * A claim on shared work (the write lease, the background writer, the queue retry): owned by a random
 * token, never a process id, and valid until `expiresAt` on the store's clock. A live holder renews it;
 * a dead one's is taken over once it expires.
 */
export interface Lease {
  owner: string;
  /** Epoch ms, store clock. */
  expiresAt: number;
  /**
   * The background writer's: where it runs, its pid and when that process started (the kernel's clock
   * ticks since boot), to be seen gone on that machine (sync/local-writer.ts).
   */
  space?: string;
  pid?: number;
  started?: number;
}

/** What the last successful or attempted GitHub writes left behind (bookkeeping shared by all processes). */
export interface SyncState {
  /** The progress comment of this run (edit mode), once known; never a comment of append mode's history. */
  commentId: number | null;
  /** The comment the run's last progress write wrote: the progress comment, or the newest history comment. */
  commentUrl: string | null;
  /** Login of the token's user, as learned from /user or from our own created comment. */
  viewer: string | null;
  /**
   * Numeric id of the token's user (GitHub's `user.id`), as learned from our own created comment: the run's
   * comments are told by it, as a rename of the account changes the login on all of them. Null until known
   * (state of an earlier release, a client that gives no ids).
   */
  viewerId: number | null;
  /** Highest run sequence number whose body is on the issue. */
  postedSeq: number;
  /** Epoch ms (store clock) of the start of the last write (any process). */
  lastWriteAt: number;
  /** The process currently writing to GitHub for this run; writes are serialised through it. */
  lease: Lease | null;
  /** The background writer that will write the latest state when it is due. */
  flusher: Lease | null;
  /** The offline-queue retry in progress (one at a time per run, so nothing is posted twice). */
  retryLock: Lease | null;
  /**
   * After the lease was taken over from a holder that never released it, that holder's last request may
   * still land on the issue until this time (store clock): a write made before it is written again after
   * it. 0: nothing to settle.
   */
  settleUntil: number;
  /**
   * A comment create GitHub did not answer in time (the client gave up on the POST): GitHub may still
   * apply it until `until` (store clock). Until then no comment of the run is created: a write looks it
   * up instead and, not finding it, waits. After it, one more lookup, and it is posted if still missing.
   * null: none.
   */
  unsureCreate: { kind: "progress" | "final"; until: number } | null;
  /** No GitHub traffic before this epoch ms after failures (retry and finalize may try sooner). */
  backoffUntil: number;
  /** GitHub asked us not to write before this epoch ms (retry-after, rate-limit reset): always honoured. */
  rateLimitedUntil: number;
  /**
   * The run's write budget (src/sync/budget.ts): the writes it held at `at` (store clock), a fraction
   * while it refills. null: never spent (full).
   */
  writeBudget: { tokens: number; at: number } | null;
  consecutiveFailures: number;
  /**
   * The seqs of queued history comments (append mode) the issue was seen to show whose queue file could
   * not be removed (a queue folder made read-only): delivered, not queued. Absent: none.
   */
  historyShown?: number[];
  /** The final summary comment, once posted. */
  finalCommentId: number | null;
  finalCommentUrl: string | null;
  /** The last GitHub failure, already explained (no token inside). */
  lastError: string | null;
}

/** The whole persisted state of one run. */
export interface RunState {
  version: 1;
  runId: string;
  epicId: string;
  startedAt: string;
  completedAt: string | null;
  /**
   * When the run was abandoned: another run of its epic started (`init --force`) before it was finalized.
   * `completedAt` is then the same time. Absent or null: not abandoned.
   */
  abandonedAt?: string | null | undefined;
  /**
   * When the finalize was made, if it was applied later (kept while the database did not answer): the
   * run's end for a kept agent change, which the run takes when it was made before its end. Absent or
   * null: the run ended at `completedAt`.
   */
  finalizeMadeAt?: string | null | undefined;
  /** Incremented on every change; the body posted for a change carries it. */
  seq: number;
  /** The bold event line of the latest change, e.g. "Agent impl-bac-163000 completed". */
  event: string;
  agents: Record<string, AgentState>;
  /** Merge summary given at finalize, as the run keeps it (see keptMergeSummary). */
  mergeSummary: string | null;
  /**
   * How many characters (`string.length`) of the merge summary as given the run did not keep: the `…` that
   * ends mergeSummary stands for them. Absent or 0: kept whole.
   */
  mergeSummaryCut?: number | undefined;
  /** The run's budget in US dollars (`init --max-cost`); absent or null: none. */
  maxCostUsd?: number | null;
  /**
   * The agent ids of the run this one replaced (`init --force`, a new run after a finalized one, the epic's
   * latest in a database): no agent of this run takes one, also when added later, so an agent of that run
   * still reporting by its id is refused instead of changing this run.
   * Absent: it replaced none (or was made by an earlier release).
   */
  replacedAgentIds?: string[] | undefined;
  /** An unfinished agent silent for longer than this is shown as stalled (ms). */
  stallAfterMs: number;
  github: GitHubTarget;
  sync: SyncState;
  /**
   * Typical duration (ms, the median) of each domain in earlier runs, set when the run starts where the
   * store keeps history (the database store): the ETA falls back on it while the run has too little data.
   */
  pastDurations?: Record<string, number> | undefined;
}

/** A row of the rendered table; also what `status --json` prints per agent. */
export interface AgentView {
  agentId: string;
  domain: string;
  status: AgentStatus;
  filesCompleted: number;
  filesTotal: number;
  progress: number;
  /** The agent it was added under, or null. */
  parentId: string | null;
  iteration: number | null;
  maxIterations: number | null;
  criteriaVerified: number | null;
  criteriaTotal: number | null;
  /** The agent's own reported cost (US dollars), or null. */
  costUsd: number | null;
}
