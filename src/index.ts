/**
 * parallel-progress: the library. The CLI is a thin layer over these exports.
 *
 * ```ts
 * import { createParallelReporter } from "parallel-progress";
 * const reporter = createParallelReporter(".tasks/backlog/EPIC-007");
 * const agents = await reporter.initializeParallelTracking("EPIC-007", ["backend", "frontend", "tests"]);
 * ```
 */

export type { GitHubOverrides } from "./config/github-target.js";
export {
  GitHubError,
  type GitHubErrorKind,
  LockTimeoutError,
  QueueUnwritableError,
  StoreConfigError,
  StoreUnavailableError,
  UnreadableStateError,
  UsageError,
} from "./errors.js";
export { percent, renderFinalComment, renderProgressComment } from "./exported-helpers.js";
export type { CallOptions, IssueComment, IssueCommentsClient, RepoRef } from "./github/types.js";
export type { StatusView } from "./model/status-view.js";
export type {
  AgentEvent,
  AgentMetrics,
  AgentState,
  AgentStatus,
  AgentView,
  CommentMode,
  GitHubTarget,
  Lease,
  RunState,
  SyncState,
  UpdateStatus,
} from "./model/types.js";
export { AGENT_STATUSES } from "./model/types.js";
export type { QueueItem } from "./queue/types.js";
export type { RenderOptions } from "./render/progress-comment.js";
export {
  type AgentRef,
  createParallelReporter,
  type FinalizeResult,
  ParallelProgressReporter,
  type ReporterEvents,
  type ReporterOptions,
} from "./reporter.js";
export { createPostgresStore, type LazyPgStore as PostgresStore } from "./store/open-store.js";
export type { PgStoreOptions as PostgresStoreOptions } from "./store/pg/pg-store.js";
export type { RunStore, Transition } from "./store/types.js";
export type { OwedPost } from "./sync/retry-plan.js";
export type { RetryReport } from "./sync/retry-queue.js";
export type { StepResult } from "./sync/run-syncer.js";
export type { Clock, FileSystem, FileSystemLike } from "./util/io.js";
