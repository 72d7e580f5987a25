import type { GitHubOverrides } from "../config/github-target.js";
import type { Env } from "../config/resolve.js";
import type { IssueCommentsClient } from "../github/types.js";
import type { AgentState, RunState } from "../model/types.js";
import type { RunStore } from "../store/types.js";
import type { StepResult } from "../sync/run-syncer.js";
import type { Clock, FileSystemLike } from "../util/io.js";

export interface ReporterOptions {
  /** File system (default: Node's): Node's `fs` or memfs's (tests), or any object with its methods. */
  fs?: FileSystemLike;
  /** Clock (default: Date.now). */
  clock?: Clock;
  /**
   * Environment for GITHUB_TOKEN/GH_TOKEN, GITHUB_API_URL, GITHUB_REPOSITORY, HTTPS_PROXY/HTTP_PROXY/NO_PROXY
   * (default: process.env).
   */
  env?: Env;
  /** GitHub settings that win over task.md (the CLI's --issue, --repo, --api-url, ...). */
  github?: GitHubOverrides;
  /**
   * The GitHub client: an IssueCommentsClient (for tests or another transport), or a factory by API URL
   * (synchronous or async; null: no token).
   * Default: Octokit with the token from the environment (imported only when a write is due).
   */
  client?:
    | IssueCommentsClient
    | ((apiUrl: string) => IssueCommentsClient | null | Promise<IssueCommentsClient | null>);
  /**
   * How a write that is not due yet gets done later. Default "timer": in this process (it keeps the
   * process alive until the issue is up to date). The CLI passes a function that starts a detached process,
   * and resolves to `{ pid }`, the process's: the writer's claim is then marked with it, so that a writer
   * killed on this machine before it took its claim is seen gone at once (src/sync/local-writer.ts). Any
   * other result is ignored.
   */
  flusher?: "timer" | (() => unknown);
  /**
   * Starts a standby writer: with a store shared by machines, a call that leaves its write to a live
   * background writer of another machine (whose death this one cannot see) calls it, and the standby takes
   * over only once that writer's claim expires (src/sync/background-writer.ts: standBy). Default: none.
   * The CLI passes one that starts a detached `__flush --standby`, one per machine, directory and run.
   */
  standbyWriter?: () => unknown;
  /** Receives warnings (GitHub trouble, queued posts). Also emitted as the "warning" event. */
  onWarning?: (message: string) => void;
  /** Sleep (default: setTimeout). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Store (default: the file store in the epic directory). */
  store?: RunStore;
}

export interface AgentRef {
  agentId: string;
  domain: string;
}

export interface FinalizeResult {
  /** False when the run was already finalized (nothing new was posted for it). */
  finalizedNow: boolean;
  /**
   * The run was already finalized with another merge summary than the one given (compared as the run
   * keeps it, its secrets masked), which stays: the one given was not used.
   */
  summaryUnused: boolean;
  /** Whether the final summary is on the issue (false: queued, or local run). */
  posted: boolean;
  /** Queue entries still waiting. */
  queued: number;
  /** Epoch ms until which a GitHub rate limit holds them (a retry before it sends nothing), else null. */
  waitingUntil: number | null;
  /** The progress comment. */
  commentUrl: string | null;
  /** The final summary comment, once posted. */
  finalCommentUrl: string | null;
}

/** Events a reporter emits (listeners run synchronously, after the change is saved). */
export interface ReporterEvents {
  /** Every change this reporter makes: the new state. */
  change: [state: RunState];
  /** An agent reached `completed`. */
  agentCompleted: [agent: AgentState, state: RunState];
  /** An agent reached `failed`. */
  agentFailed: [agent: AgentState, state: RunState];
  /** An agent reached `cancelled`. */
  agentCancelled: [agent: AgentState, state: RunState];
  /** GitHub trouble (already explained; the post is queued) and other non-fatal problems. */
  warning: [message: string];
  /** What this reporter's change did on GitHub: wrote, failed (queued), or left it for later and why. */
  sync: [result: StepResult];
}
