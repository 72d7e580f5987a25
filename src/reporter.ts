import { EventEmitter } from "node:events";
import { resolve } from "node:path";
import type { ApiMethod } from "./api-arguments.js";
import { checkEpicDir } from "./config/epic-dir.js";
import {
  type GitHubOverrides,
  overlayTarget,
  refreshTarget,
  resolveTarget,
  type Target,
} from "./config/github-target.js";
import {
  assertEpicId,
  checkDomains,
  checkErrorMessage,
  checkEventMessage,
  checkNoNul,
} from "./config/options.js";
import { readTaskFile, statTaskFile } from "./config/read-task-file.js";
import { type Env, resolveApiUrl } from "./config/resolve.js";
import { keepRunIssue } from "./config/same-issue.js";
import { quote } from "./config/show-value.js";
import { readTaskFileSeen, seenFor, writeTaskFileSeen } from "./config/task-file-seen.js";
import { UsageError } from "./errors.js";
import type { IssueCommentsClient } from "./github/types.js";
import { checkCost } from "./model/metrics.js";
import {
  applyAdd,
  applyCancel,
  applyComplete,
  applyFail,
  applyFinalize,
  applyLog,
  applyProgress,
  assertActive,
  createRun,
  findAgent,
  type RunPlace,
} from "./model/run.js";
import type { StatusView } from "./model/status-view.js";
import {
  type AgentMetrics,
  type AgentState,
  type RunState,
  UPDATE_STATUSES,
  type UpdateStatus,
} from "./model/types.js";
import { OfflineQueue } from "./queue/offline-queue.js";
import { reporterClient } from "./reporter/client.js";
import { maskAgentText } from "./reporter/masking.js";
import type { AgentRef, FinalizeResult, ReporterEvents, ReporterOptions } from "./reporter/types.js";
import { FileRunStore } from "./store/file-store.js";
import type { RunStore } from "./store/types.js";
import { commandDeadline } from "./sync/deadline.js";
import { canSync } from "./sync/decide.js";
import type { RetryReport } from "./sync/retry-queue.js";
import { type Claim, RunSyncer, type SyncDeps } from "./sync/run-syncer.js";
import { type Clock, type FileSystem, systemClock } from "./util/io.js";
import { nodeFileSystem } from "./util/node-fs.js";
import { randomHex } from "./util/random.js";
import { sleep } from "./util/sleep.js";

export type { AgentRef, FinalizeResult, ReporterEvents, ReporterOptions } from "./reporter/types.js";

const FINISH_EVENTS = {
  completed: "agentCompleted",
  failed: "agentFailed",
  cancelled: "agentCancelled",
} as const;

/** The settings a call read for run `runId` (null: nothing changed since they were saved). */
type ReadSettings = { runId: string; target: Target | null };

/**
 * The parallel progress reporter: the original design's API, in camelCase and async.
 * Caller mistakes throw UsageError; GitHub trouble never throws: it is reported through `onWarning`
 * (and the "warning" event) and the post is queued in `.github_parallel_queue/`.
 *
 * Events: see ReporterEvents.
 */
export class ParallelProgressReporter extends EventEmitter<ReporterEvents> {
  private epicDir: string;
  private readonly fs: FileSystem;
  private readonly clock: Clock;
  private readonly env: Env;
  private readonly overrides: GitHubOverrides;
  /** Owns this reporter's leases in the shared state: random, never a process id. */
  private readonly owner = randomHex(16);
  private state: RunState | null = null;
  /** How many changes this reporter made (read() keeps a state older than the last of them out). */
  private changes = 0;
  /** What a caller's warning listener threw, for the call at hand to throw when done (see warn()). */
  private listenerError: { error: unknown } | null = null;
  private timerWriter: Promise<void> | null = null;
  private closed = false;
  private readonly stopping = new AbortController();
  private store!: RunStore;
  private queue!: OfflineQueue;
  private syncer!: RunSyncer;
  private deps!: SyncDeps & { fs: FileSystem };
  /** The GitHub client by API URL (see reporterClient). */
  private readonly client: (apiUrl: string) => Promise<IssueCommentsClient>;
  /** Whether the options given to the constructor were checked (on the first checked call). */
  private optionsChecked = false;
  /** When the next agent change was made, if it is applied later than made (see applyingKeptChange). */
  private keptMadeAt: number | null = null;

  constructor(
    epicDir: string,
    private readonly options: ReporterOptions = {},
  ) {
    super();
    // Checked here by hand: a constructor cannot wait for the zod schemas (loaded on a method's first call).
    if (typeof epicDir !== "string" || epicDir.trim() === "") {
      throw new UsageError(`epicDir must be the path of the epic directory, got ${quote(epicDir)}`);
    }
    this.fs = options.fs ?? nodeFileSystem();
    this.clock = options.clock ?? systemClock;
    this.env = options.env ?? process.env;
    this.overrides = options.github ?? {};
    this.client = reporterClient(options, this.env, this.clock);
    this.epicDir = resolve(epicDir);
    this.bind(this.epicDir);
  }

  private bind(epicDir: string): void {
    this.epicDir = resolve(epicDir);
    this.store = this.options.store ?? new FileRunStore(this.fs, this.epicDir, { clock: this.clock });
    this.queue = new OfflineQueue(this.fs, this.epicDir, this.clock, (aside) =>
      this.warn(`queue file ${aside.name} is unreadable (${aside.reason}); moved aside as ${aside.movedTo}`),
    );
    this.deps = {
      fs: this.fs,
      store: this.store,
      queue: this.queue,
      clock: this.clock,
      sleep: this.options.sleep ?? sleep,
      client: (apiUrl) => this.client(apiUrl),
      startBackgroundWriter: () => this.startBackgroundWriter(),
      warn: (message) => this.warn(message),
      owner: this.owner,
    };
    this.syncer = new RunSyncer(this.deps);
  }

  /**
   * The next call was made at `madeAt` (epoch ms) and is applied only now: a change kept while the store
   * did not answer (the CLI applies those when it answers again). An agent change: a run finalized after
   * `madeAt` still takes it, as it came before the end, with `madeAt` as its time and the run's last event
   * kept; `status`, the history and the progress comment show it, and the final summary, posted at the
   * finalize, is not posted again. A run finalized before `madeAt` refuses it, as it refuses any change.
   * A finalize: the run records `madeAt` as its end for such changes (`finalizeMadeAt`). Marks the next
   * call only, whatever it is (a call refused by its own checks included); null clears it.
   */
  applyingKeptChange(madeAt: number | null): void {
    if (madeAt !== null && !Number.isFinite(madeAt)) {
      throw new UsageError(
        `applyingKeptChange: madeAt must be epoch milliseconds or null, got ${quote(madeAt)}`,
      );
    }
    this.keptMadeAt = madeAt;
  }

  /** The epic directory this reporter works in. */
  get directory(): string {
    return this.epicDir;
  }

  /** Where the run is looked for, for messages: the database store's epic, else the epic directory. */
  get place(): RunPlace {
    return this.store.database ?? this.epicDir;
  }

  /** The store holding the run (to follow it: `read()` and `subscribe()`). */
  get runStore(): RunStore {
    return this.store;
  }

  /** The state as this reporter last saw it. Throws before a run was started or loaded. */
  get executionState(): RunState {
    if (!this.state) throw new UsageError("no run loaded: call initializeParallelTracking() or load() first");
    return this.state;
  }

  /** Loads the run in the epic directory (null when there is none). */
  async load(): Promise<RunState | null> {
    await this.enter("load", []);
    return this.read();
  }

  /**
   * load() for the reporter's own use (no checks). What it read becomes `executionState` unless a change
   * of this reporter's landed meanwhile: that change's state is newer than the read (which may have
   * started before it) and stays.
   */
  private async read(): Promise<RunState | null> {
    const changes = this.changes;
    const state = await this.store.read();
    if (this.changes === changes) this.state = state;
    return state;
  }

  /** The state a change of this reporter's made: `executionState` from now on. */
  private changed(state: RunState): void {
    this.state = state;
    this.changes++;
  }

  async initializeParallelTracking(
    epicId: string,
    domains: readonly string[],
    epicDir?: string,
    options: { force?: boolean; stallAfterMs?: number; maxCostUsd?: number } = {},
  ): Promise<AgentRef[]> {
    await this.enter("initializeParallelTracking", [epicId, domains, epicDir, options]);
    if (epicDir !== undefined && resolve(epicDir) !== this.epicDir) this.bind(epicDir);
    const deadline = commandDeadline(this.clock.now());
    const id = assertEpicId(epicId, "initializeParallelTracking: epicId");
    const list = checkDomains(domains, domains.join(","), "domains");
    if (options.maxCostUsd !== undefined) checkCost(options.maxCostUsd, "maxCostUsd");
    const target = await resolveTarget(this.fs, this.epicDir, this.env, this.overrides);
    this.warnIfNoRepository(target.github);
    const unreadable = options.force ? await this.store.setAsideUnreadable?.() : null;
    if (unreadable) this.warn(`${unreadable}: moved aside as state.json.corrupt`);
    this.queue.sweep(this.clock.now());
    const state = await this.store.transact((current, now) => {
      if (current && !current.completedAt && !options.force) {
        throw new UsageError(
          `run ${current.runId} (epic ${current.epicId}) is still active here: finalize it first, or pass --force to abandon it`,
        );
      }
      const next = createRun({
        epicId: id,
        domains: list,
        now,
        github: target.github,
        ...(options.stallAfterMs === undefined ? {} : { stallAfterMs: options.stallAfterMs }),
        ...(options.maxCostUsd === undefined ? {} : { maxCostUsd: options.maxCostUsd }),
        nonce: randomHex(4),
      });
      return { next, result: next };
    });
    this.recordTaskFile(state.runId, target);
    await this.started(state, deadline);
    return Object.values(state.agents).map(({ agentId, domain }) => ({ agentId, domain }));
  }

  /**
   * Adds agents to the active run (orchestrators that discover work as they go), at the top level or
   * under `parent` (an agent id or domain). A parent's files become its children's sums; see applyAdd
   * for what is refused. Resolves to the new agents, in the order given.
   */
  async addAgents(domains: readonly string[], options: { parent?: string | null } = {}): Promise<AgentRef[]> {
    await this.enter("addAgents", [domains, options]);
    const list = checkDomains(domains, domains.join(","), "domains");
    const parent = options.parent ?? null;
    let added: AgentRef[] = [];
    await this.change(null, (state, now) => {
      const result = applyAdd(state, list, parent, now);
      added = result.added.map(({ agentId, domain }) => ({ agentId, domain }));
      return result.state;
    });
    return added;
  }

  /**
   * `filesCompleted`/`filesTotal` left out keep the agent's current counts; so do metrics left out
   * (`iteration` with `maxIterations`, `criteriaVerified` with `criteriaTotal`, `costUsd`: the agent's
   * cost so far in US dollars).
   */
  async updateAgentProgress(
    agentId: string,
    status: UpdateStatus,
    filesCompleted?: number,
    filesTotal?: number,
    metrics?: AgentMetrics,
  ) {
    const madeAt = await this.enter("updateAgentProgress", [
      agentId,
      status,
      filesCompleted,
      filesTotal,
      metrics,
    ]);
    if (!UPDATE_STATUSES.includes(status)) {
      throw new UsageError(
        `status must be one of pending, in_progress, completed, failed, got ${quote(status)}`,
      );
    }
    await this.change(
      agentId,
      (state, now) => applyProgress(state, agentId, { status, filesCompleted, filesTotal, metrics }, now),
      madeAt,
    );
  }

  async markAgentComplete(agentId: string, resultSummary?: string | null): Promise<void> {
    const madeAt = await this.enter("markAgentComplete", [agentId, resultSummary]);
    checkNoNul(resultSummary, "markAgentComplete: resultSummary");
    await this.change(
      agentId,
      (state, now) => applyComplete(state, agentId, maskAgentText(resultSummary, this.env) ?? null, now),
      madeAt,
    );
  }

  async markAgentFailed(agentId: string, errorMessage: string): Promise<void> {
    const madeAt = await this.enter("markAgentFailed", [agentId, errorMessage]);
    checkErrorMessage(errorMessage);
    checkNoNul(errorMessage, "markAgentFailed: errorMessage");
    const error = maskAgentText(errorMessage, this.env);
    await this.change(agentId, (state, now) => applyFail(state, agentId, error, now), madeAt);
  }

  /** Marks an agent cancelled (it will do no more work), with an optional reason shown on the issue. */
  async cancelAgent(agentId: string, reason?: string | null): Promise<void> {
    const madeAt = await this.enter("cancelAgent", [agentId, reason]);
    checkNoNul(reason, "cancelAgent: reason");
    await this.change(
      agentId,
      (state, now) => applyCancel(state, agentId, maskAgentText(reason?.trim() || null, this.env), now),
      madeAt,
    );
  }

  /** Records an event in the agent's log; the comment shows each agent's latest few. */
  async logAgentEvent(agentId: string, message: string): Promise<void> {
    const madeAt = await this.enter("logAgentEvent", [agentId, message]);
    const text = checkEventMessage(message);
    checkNoNul(text, "logAgentEvent: message");
    const masked = maskAgentText(text, this.env);
    await this.change(agentId, (state, now) => applyLog(state, agentId, masked, now), madeAt);
  }

  /**
   * Retries the queue, then brings the progress comment to its final state and posts the final summary
   * as a new comment. Idempotent: a second call posts nothing new. Resolves once posted or queued.
   */
  async finalizeParallelExecution(mergeSummary?: string | null): Promise<FinalizeResult> {
    const madeAt = await this.enter("finalizeParallelExecution", [mergeSummary]);
    checkNoNul(mergeSummary, "finalizeParallelExecution: mergeSummary");
    const deadline = commandDeadline(this.clock.now());
    // An active run pointed at another issue is refused before it is finalized (state untouched).
    // The settings are read once here and saved by the retry below.
    const active = await this.store.read();
    let settings: ReadSettings | undefined;
    if (active && !active.completedAt) {
      settings = { runId: active.runId, target: await this.readSettings(active) };
      if (settings.target) keepRunIssue(active, settings.target.github, this.flags());
    }
    const { state, finalizedNow } = await this.store.transact((current, now) => {
      if (!current) assertActive(current, this.place);
      if (current!.completedAt) return { result: { state: current!, finalizedNow: false } };
      const finalized = applyFinalize(current!, maskAgentText(mergeSummary ?? "", this.env), now);
      // Made earlier than applied (kept while the database did not answer): the run's end for kept changes.
      const next =
        madeAt === null
          ? finalized
          : { ...finalized, finalizeMadeAt: new Date(Math.min(madeAt, now)).toISOString() };
      return { next, result: { state: next, finalizedNow: true } };
    });
    this.changed(state);
    const thrown = finalizedNow ? listenersOf(() => this.emit("change", state)) : null;
    // The retry saves this call's settings, then brings the issue to the final state (and loads it).
    const report = await this.retry({ deadline }, settings);
    // Why entries of other runs stay queued (this run's failed writes were warned about as they failed).
    for (const message of report.errors) this.warn(`GitHub: ${message}`);
    this.rethrowListenerError(thrown);
    const after = this.state ?? state;
    return {
      finalizedNow,
      posted: after.sync.finalCommentId !== null,
      queued: report.remaining,
      commentUrl: after.sync.commentUrl,
      finalCommentUrl: after.sync.finalCommentUrl,
    };
  }

  /** Retries the offline queue; resolves to the number of queued posts now delivered. */
  async retryOfflineQueue(): Promise<number> {
    await this.enter("retryOfflineQueue", []);
    return (await this.retry({})).sent;
  }

  /**
   * The queue retry with its full report (`dryRun`: only say what would be sent). Everything it sends
   * gives up at `deadline` (epoch ms; default: the command's deadline, 9.5 s from now) and stays queued.
   */
  async retryReport(options: { dryRun?: boolean; deadline?: number } = {}): Promise<RetryReport> {
    await this.enter("retryReport", [options]);
    return this.retry(options);
  }

  /** retryReport, with the settings this call already read (finalize), if any. */
  private async retry(
    options: { dryRun?: boolean; deadline?: number },
    settings?: ReadSettings,
  ): Promise<RetryReport> {
    const deadline = options.deadline ?? commandDeadline(this.clock.now());
    const before = await this.store.read();
    // No run and nothing queued: nothing to send, and nothing made (a retry in a mistyped --dir leaves
    // the file system as it was). With a run, the retry also brings the issue to the run's state.
    if (!before && this.queue.count() === 0)
      return { sent: 0, remaining: 0, plan: [], setAside: [], errors: [], waitingUntil: null };
    const current = before && !options.dryRun ? await this.saveSettings(before, settings) : before;
    const apiUrl = current?.github.apiUrl ?? resolveApiUrl(this.overrides.apiUrl, this.env);
    // Sync turned off here (task.md's github.sync_enabled: false): no GitHub traffic, earlier runs' posts
    // included; what is queued stays, as in a dry run.
    const syncOff =
      !options.dryRun && !(current ? current.github.syncEnabled : await this.syncEnabledWithoutRun());
    const { retryQueue } = await import("./sync/retry-queue.js");
    const report = await retryQueue(this.deps, this.syncer, {
      ...options,
      dryRun: options.dryRun || syncOff,
      deadline,
      apiUrl,
    });
    if (syncOff && report.remaining > 0) {
      report.errors.push(
        `sync is off (github.sync_enabled: false): nothing sent, ${report.remaining} post(s) stay queued`,
      );
    }
    // A file moved aside was said as it was moved (the queue's onSetAside); a dry run only names it.
    if (options.dryRun) {
      for (const aside of report.setAside) {
        this.warn(`queue file ${aside.name} is unreadable (${aside.reason}); left in place (dry run)`);
      }
    }
    const after = await this.read();
    // The final summary just reached the issue (by finalize or by a later retry): record it in task.md.
    if (after?.sync.finalCommentId && !before?.sync.finalCommentId && after.runId === before?.runId) {
      await this.writeLastSynced();
    }
    this.rethrowListenerError();
    return report;
  }

  /** With no run here: whether this directory may talk to GitHub (task.md, the library's option). */
  private async syncEnabledWithoutRun(): Promise<boolean> {
    if (this.overrides.syncEnabled === false) return false;
    return (await readTaskFile(this.fs, this.epicDir))?.settings.syncEnabled ?? true;
  }

  /** This call's GitHub settings (and a changed task.md), saved in the run; resolves to the run after. */
  private async saveSettings(current: RunState, settings?: ReadSettings): Promise<RunState | null> {
    const target = settings?.runId === current.runId ? settings.target : await this.readSettings(current);
    if (!target) return current;
    this.warnIfNoRepository(target.github);
    const saved = await this.store.transact((state) => {
      if (!state) return { result: null };
      const next = { ...state, github: keepRunIssue(state, target.github, this.flags()) };
      return { next, result: next };
    });
    if (saved) this.recordTaskFile(saved.runId, target);
    return saved;
  }

  /** This call's settings over the run's saved ones (see refreshTarget); null: nothing changed. */
  private readSettings(current: RunState): Promise<Target | null> {
    const seen = seenFor(readTaskFileSeen(this.fs, this.epicDir), current.runId);
    return refreshTarget(this.fs, this.epicDir, this.env, current, seen, this.overrides);
  }

  /**
   * Remembers, on this machine, which task.md the run's settings were just read with (none: nothing to
   * remember unless one was recorded before, as an unrecorded missing task.md needs no reading).
   */
  private recordTaskFile(
    runId: string,
    target: Target,
    record = readTaskFileSeen(this.fs, this.epicDir),
  ): void {
    if (target.taskFile === null && record === undefined) return;
    writeTaskFileSeen(this.fs, this.epicDir, { runId, taskFile: target.taskFile });
  }

  /** Which GitHub settings this call's caller gave (CLI flags, library options), for messages. */
  private flags(): { issue: boolean; repo: boolean } {
    return { issue: this.overrides.issueNumber !== undefined, repo: this.overrides.repo !== undefined };
  }

  /** The run as `status --json` shows it. */
  async status(): Promise<StatusView> {
    await this.enter("status", []);
    const state = await this.read();
    if (!state) assertActive(state, this.place);
    const { toStatusView } = await import("./model/status-view.js");
    return toStatusView(state!, this.clock.now(), this.queue.count());
  }

  /**
   * Waits until this process's background writer (the "timer" one) is done: the issue is up to date,
   * or what it lacks is queued. Bounded: the timer writer lives at most TIMER_WRITER.lifetimeMs.
   */
  async flush(): Promise<void> {
    await this.enter("flush", []);
    await this.timerDone();
  }

  /** flush() for the reporter's own use (no checks). */
  private async timerDone(): Promise<void> {
    while (this.timerWriter) await this.timerWriter;
  }

  /**
   * How every public method but close() starts: its arguments and the reporter's options checked
   * (checkArguments), then a UsageError if the reporter was closed.
   */
  private async enter(method: ApiMethod, args: readonly unknown[]): Promise<number | null> {
    // The kept change's time marks this call only, whatever it is and whether or not it gets through.
    const madeAt = this.keptMadeAt;
    this.keptMadeAt = null;
    await this.checkArguments(method, args);
    if (this.closed) throw new UsageError(`${method}: this reporter was closed: create a new one`);
    return madeAt;
  }

  /**
   * Rejects (UsageError) an argument of a public method that has the wrong type or value, and the options
   * given to the constructor until they pass, before anything is read or changed. The schemas are loaded
   * on first use. The epic directory (initializeParallelTracking's, when it gives one) must not be a file:
   * a UsageError, not the ENOTDIR of the first file operation. A subclass whose caller has checked every
   * value already may skip it (the CLI: its option parsers and `--dir`'s check do, and zod would cost each
   * call milliseconds).
   */
  protected async checkArguments(method: ApiMethod, args: readonly unknown[]): Promise<void> {
    const { checkArguments, checkOptions } = await import("./api-arguments.js");
    if (!this.optionsChecked) checkOptions(this.options);
    this.optionsChecked = true;
    checkArguments(method, args);
    const given = method === "initializeParallelTracking" ? args[2] : undefined;
    if (typeof given === "string") checkEpicDir(this.fs, resolve(given), `${method}: epicDir`);
    else checkEpicDir(this.fs, this.epicDir, "createParallelReporter: epicDir");
  }

  /**
   * Ends the reporter's background work: the timer writer stops at its next wait (a write in progress
   * ends by its deadline, 9.5 s at most), what the issue still lacks is queued for `retry`, and the
   * store the reporter made is closed. The reporter is not used after it (its calls reject).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A timer writer at work queues what the issue lacks when it stops: close() does only without one.
    const writer = this.timerWriter;
    this.stopping.abort();
    await this.timerDone();
    if (!writer && this.state && canSync(this.state)) {
      await this.syncer.queueMissing("the reporter was closed before the issue was up to date");
    }
    if (!this.options.store) await this.store.close();
  }

  /** Runs as the detached background writer (`__flush`): writes the latest state when due, then exits. */
  async runBackgroundWriter(): Promise<void> {
    await this.enter("runBackgroundWriter", []);
    await this.syncer.runBackgroundWriter();
  }

  /** A change of the run; `agentRef`: the agent it is about (for the finish events), if one. */
  private async change(
    agentRef: string | null,
    apply: (state: RunState, now: number) => RunState,
    madeAt: number | null = null,
  ): Promise<void> {
    const deadline = commandDeadline(this.clock.now());
    const stat = statTaskFile(this.fs, this.epicDir);
    const record = readTaskFileSeen(this.fs, this.epicDir);
    let target: Target | null = null;
    // The change and the write decision in one transaction: one lock, one state read and write per call.
    // Flags given on this call are applied in it too; only when task.md changed (or an issue was given to a
    // run without a repository) are the settings read first, outside the lock (a second pass).
    for (let pass = 0; ; pass++) {
      type Outcome =
        | { refresh: RunState }
        | { next: RunState; made: Claim | null; before: AgentState | null };
      const outcome = await this.store.transact<Outcome>((current, now) => {
        const ended = endedAfter(current, madeAt);
        const active = ended ?? assertActive(current, this.place);
        const seen = seenFor(record, active.runId);
        const overlaid = pass === 0 ? overlayTarget(active, stat, seen, this.overrides, this.env) : target;
        if (overlaid === "read") return { result: { refresh: active } };
        const base = overlaid
          ? { ...active, github: keepRunIssue(active, overlaid.github, this.flags()) }
          : active;
        // A finalized run taking a change made before its end: the change keeps the time it was made, and
        // the run its last word ("Parallel execution completed").
        const changed = ended ? { ...apply(base, madeAt!), event: ended.event } : apply(base, now);
        const made = canSync(changed)
          ? this.syncer.claim(changed, now, { ensureBackgroundWriter: true })
          : null;
        const next = made?.state ?? changed;
        const before = agentRef === null ? null : findAgent(active, agentRef);
        return { next, result: { next, made, before } };
      });
      if ("refresh" in outcome) {
        const seen = seenFor(record, outcome.refresh.runId);
        target = await refreshTarget(this.fs, this.epicDir, this.env, outcome.refresh, seen, this.overrides);
        continue;
      }
      if (target) this.recordTaskFile(outcome.next.runId, target, record);
      this.changed(outcome.next);
      const thrown = listenersOf(() => {
        this.emit("change", outcome.next);
        const after = outcome.before && outcome.next.agents[outcome.before.agentId]!;
        if (after && after.status !== outcome.before!.status && after.status in FINISH_EVENTS) {
          this.emit(FINISH_EVENTS[after.status as keyof typeof FINISH_EVENTS], after, outcome.next);
        }
      });
      // The write this change claimed is done (or queued) whatever a listener did: unused, its lease would
      // hold every process's writes back until it expired.
      const result = outcome.made ? await this.syncer.act(outcome.made, deadline) : null;
      this.rethrowListenerError(thrown);
      if (result) this.emit("sync", result);
      return;
    }
  }

  /** After init: the first write (the progress comment), or a background writer when it is not due. */
  private async started(state: RunState, deadline: number): Promise<void> {
    this.changed(state);
    const thrown = listenersOf(() => this.emit("change", state));
    const result = canSync(state) ? await this.syncer.step({ ensureBackgroundWriter: true, deadline }) : null;
    this.rethrowListenerError(thrown);
    if (result) this.emit("sync", result);
  }

  private async startBackgroundWriter(): Promise<void> {
    const flusher = this.options.flusher ?? "timer";
    if (flusher !== "timer") {
      await flusher();
      return;
    }
    if (this.closed) return; // what is not written is queued by close()
    // Nobody awaits this writer but flush() and close(): what stops it (a store that does not answer) is a
    // warning, never an unhandled rejection, which would end the caller's process.
    this.timerWriter ??= this.syncer
      .runBackgroundWriter({ ...TIMER_WRITER, signal: this.stopping.signal })
      .catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        this.warn(
          `the background writer stopped: ${reason}; the next call, retry or finalize brings the issue up to date`,
        );
      })
      .finally(() => {
        this.timerWriter = null;
      });
  }

  private async writeLastSynced(): Promise<void> {
    const { writeLastSynced } = await import("./config/last-synced.js");
    const result = await writeLastSynced(this.fs, `${this.epicDir}/task.md`, this.clock.now()).catch(
      () => "failed" as const,
    );
    if (result === "cannot-edit") {
      this.warn("task.md: could not record github.last_synced (no block-style `github:` mapping)");
    } else if (result === "not-utf8") {
      this.warn("task.md: could not record github.last_synced (the file is not UTF-8 text: left as it is)");
    } else if (result === "changed") {
      this.warn("task.md: could not record github.last_synced (the file kept changing while it was written)");
    } else if (result === "failed" && statTaskFile(this.fs, this.epicDir) !== null) {
      this.warn("task.md: could not record github.last_synced (the file could not be read or written)");
    }
  }

  private warnIfNoRepository(github: RunState["github"]): void {
    if (github.issueNumber === null || github.repo !== null || !github.syncEnabled) return;
    this.warn(
      `issue #${github.issueNumber} is given but no repository (--repo, task.md github.repo, GITHUB_REPOSITORY or a git origin remote): tracking locally`,
    );
  }

  /**
   * A warning to the caller's `onWarning` and `warning` listeners. One that throws does not stop the work
   * that warned (a write being queued, the background writer): its error is kept for the call at hand to
   * throw once its work is done (rethrowListenerError).
   */
  private warn(message: string): void {
    const thrown = listenersOf(() => {
      this.options.onWarning?.(message);
      this.emit("warning", message);
    });
    if (thrown) this.listenerError ??= thrown;
  }

  /** Throws what a listener threw during the call's work (first the one given, then a warning's). */
  private rethrowListenerError(thrown: { error: unknown } | null = null): void {
    const first = thrown ?? this.listenerError;
    this.listenerError = null;
    if (first) throw first.error;
  }
}

/**
 * Runs the caller's listeners (an `emit`). One that throws does not stop the reporter's own work: its
 * error is returned, for the call to throw once that work is done (the change saved, its GitHub write
 * done or queued), as EventEmitter would have thrown it from `emit`.
 */
function listenersOf(emit: () => void): { error: unknown } | null {
  try {
    emit();
    return null;
  } catch (error) {
    return { error };
  }
}

/**
 * The run, when it was finalized after a change made at `madeAt`: it takes the change, which came before
 * its end (see applyingKeptChange). Null otherwise. (A replaced run is never the one a change reads.)
 */
function endedAfter(state: RunState | null, madeAt: number | null): RunState | null {
  if (state === null || madeAt === null || !state.completedAt) return null;
  return madeAt <= Date.parse(state.finalizeMadeAt ?? state.completedAt) ? state : null;
}

/**
 * The library's background writer (a timer in the caller's process, which it keeps alive): it gives up
 * at its first failed write (the post is queued; the next call, `retry` or `finalize` sends it), on a
 * wait of more than 5 s, and after 15 s, so a script ends at most about 15 s after its last call
 * however GitHub behaves (`close()` ends it sooner). Only the detached CLI writer may wait longer.
 */
const TIMER_WRITER = { lifetimeMs: 15_000, maxFailures: 1, maxWaitMs: 5_000 } as const;

/** Creates a reporter for an epic directory (the original design's `create_parallel_reporter`). */
export function createParallelReporter(epicDir: string, options?: ReporterOptions): ParallelProgressReporter {
  return new ParallelProgressReporter(epicDir, options);
}
