import type { GitHubError } from "../errors.js";
import type { CallOptions, IssueComment, IssueCommentsClient } from "../github/types.js";
import type { RunState, SyncState } from "../model/types.js";
import type { OfflineQueue } from "../queue/offline-queue.js";
import type { RunStore } from "../store/types.js";
import type { Clock } from "../util/io.js";
import type { WriteDecision } from "./decide.js";
import type { LocalWriters } from "./local-writer.js";

/** Everything the syncer needs from the outside world, injected. */
export interface SyncDeps {
  store: RunStore;
  queue: OfflineQueue;
  /** The run's clock: the times kept in queue entries, the time a queued body is rendered at. */
  clock: Clock;
  /**
   * The clock of deadlines, waits, lifetimes and request spacing: `clock`, kept up with real time
   * (atLeastRealTime), so a frozen or slow injected clock cannot keep a call or a writer going.
   */
  timer: Clock;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * The GitHub client for an API URL (imported lazily); throws GitHubError "auth" without a token, and
   * "timeout" when a client factory given to the library is still making it `options.timeoutMs` later.
   */
  client: (apiUrl: string, options?: CallOptions) => Promise<IssueCommentsClient>;
  /**
   * Starts something that will write the latest state when it is due (a detached process, or a timer);
   * resolves to the writer's pid when it is a process of this machine (its claim is marked with it).
   */
  startBackgroundWriter: () => unknown;
  /**
   * Starts a standby writer beside a live background writer this machine cannot judge (claim.ts:
   * standbyOwed), unless one of this machine already stands by or writes; absent: none is started (the
   * file store's writers are all on this machine; a library reporter's timer writer).
   */
  startStandbyWriter?: () => unknown;
  warn: (message: string) => void;
  /**
   * The run as it may be posted or queued: a token that no environment variable holds (`gh auth token`'s,
   * asked for here if need be) masked in its text, which agents' text could not be when it was kept.
   * Absent: as it is.
   */
  maskState?: (state: RunState) => Promise<RunState>;
  /** Background writers of this machine: marked in their claim, and seen gone when killed (local-writer.ts). */
  writers?: LocalWriters;
  /**
   * The random token of whoever syncs (never a process id): it owns the leases it takes. One per process in
   * the CLI; one per call, retry and timer writer of a library reporter (ReporterCore.actor), so two of
   * them at once hold the run's leases as two processes would.
   */
  owner: string;
  /**
   * How long a lease protects a write in progress, on the store's clock: longer than the client's budget
   * for one request (10 s), so a holder that died is taken over within this time.
   */
  leaseMs?: number;
}

/** The posts a run owes the issue: its progress comment, and the final summary once finalized. */
export type Step = "progress" | "final";

export type StepResult =
  | { kind: "none"; decision: null } // nothing written: no run, or another background writer has it
  | {
      kind: "none"; // nothing written, for this decision
      decision: Exclude<WriteDecision, { kind: "write" }>;
      /** The store's clock at the decision (epoch ms): the clock of the decision's `until`. */
      now: number;
    }
  | { kind: "wrote"; step: "progress" | "final"; url: string | null }
  /** `queuedAs`: the queue file of the post, null when the queue folder could not be written. */
  | { kind: "failed"; step: "progress" | "final"; error: GitHubError; queuedAs: string | null };

export interface StepOptions {
  ignoreBackoff?: boolean;
  /** Epoch ms (this process's timer) by which the write gives up (default: a command's deadline from now). */
  deadline?: number;
  /** This call is the background writer: clear its record atomically when nothing is left to write. */
  asBackgroundWriter?: boolean;
  /** Claim and start a background writer when the write is not due yet. */
  ensureBackgroundWriter?: boolean;
  /**
   * The caller writes on until the issue is up to date (flush): what changes meanwhile needs no background
   * writer (a failed write does: the caller stops there).
   */
  keepWriting?: boolean;
}

/** A write decision taken under the lock, to act on after it is released. */
export interface Claim {
  decision: WriteDecision;
  /** The state as persisted by the claim (lease or background writer's claim taken). */
  state: RunState;
  claimBackgroundWriter: boolean;
  /** Another machine's live claim holds the write left to a background writer: start a standby (claim.ts). */
  standbyWriter: boolean;
  /** The background writer's claim is another process's now: this one stops. */
  writerLost: boolean;
  /** The store's clock at the decision. */
  now: number;
  /** The run's lastWriteAt before this claim: 0 when no write of the run was ever attempted. */
  previousWriteAt: number;
  /** The run's write budget before this claim (given back when the write could not even be tried). */
  previousBudget: SyncState["writeBudget"];
}

/** The issue's comments as a write of the current flush listed them, and the lastWriteAt it recorded. */
export interface Listing {
  runId: string;
  comments: readonly IssueComment[];
  writeAt: number;
}
