import { EventEmitter } from "node:events";
import { resolve } from "node:path";
import type { ApiMethod } from "./api-arguments.js";
import { checkEpicDir } from "./config/epic-dir.js";
import {
  assertEpicId,
  checkDomains,
  checkErrorMessage,
  checkEventMessage,
  checkNoNul,
  refuseSecretsIn,
} from "./config/options.js";
import { resolveApiUrl } from "./config/resolve.js";
import { quote } from "./config/show-value.js";
import { LockTimeoutError, QueueUnwritableError, StoreUnavailableError, UsageError } from "./errors.js";
import { maskSecrets } from "./github/redact.js";
import { checkCost, checkMetrics } from "./model/metrics.js";
import {
  applyAdd,
  applyCancel,
  applyComplete,
  applyFail,
  applyLog,
  applyProgress,
  findAgent,
  hasChildren,
  noRunError,
  type RunPlace,
} from "./model/run.js";
import type { StatusView } from "./model/status-view.js";
import { type AgentMetrics, type RunState, UPDATE_STATUSES, type UpdateStatus } from "./model/types.js";
import { writeInBackground } from "./reporter/background-writer.js";
import { CallOrder } from "./reporter/call-order.js";
import { applyChange } from "./reporter/change.js";
import { ReporterCore } from "./reporter/core.js";
import { finalizeRun } from "./reporter/finalize.js";
import { type StartOptions, startRun } from "./reporter/initialize.js";
import { thrownByListener } from "./reporter/listeners.js";
import { retry } from "./reporter/retry.js";
import { warnOfRefusedTaskFile } from "./reporter/task-settings.js";
import type { AgentRef, FinalizeResult, ReporterEvents, ReporterOptions } from "./reporter/types.js";
import type { RunStore } from "./store/types.js";
import { commandDeadline } from "./sync/deadline.js";
import { canSync } from "./sync/decide.js";
import type { RetryReport } from "./sync/retry-queue.js";
import { isDateMs } from "./util/io.js";
import { sleep } from "./util/sleep.js";

export type { AgentRef, FinalizeResult, ReporterEvents, ReporterOptions } from "./reporter/types.js";

// The public class is a façade: each method checks its arguments (call) and hands the work to
// src/reporter/ (core.ts: what the parts share; change, initialize, finalize, retry, task-settings,
// background-writer, listeners, client, masking).

/**
 * The parallel progress reporter: the original design's API, in camelCase and async.
 * Caller mistakes throw UsageError; GitHub trouble never throws: it is reported through `onWarning`
 * (and the "warning" event) and the post is queued in `.github_parallel_queue/`.
 *
 * Events: see ReporterEvents.
 */
export class ParallelProgressReporter extends EventEmitter<ReporterEvents> {
  private readonly core: ReporterCore;
  /** Whether the options given to the constructor were checked (on the first checked call). */
  private optionsChecked = false;
  /** When the next agent change was made, if it is applied later than made (see applyingKeptChange). */
  private keptMadeAt: number | null = null;
  /** The order its changes are made in: the order of the calls (see CallOrder). */
  private readonly order = new CallOrder();
  /** The calls made and not yet settled: flush() and close() let them finish first. */
  private readonly calls = new Set<Promise<unknown>>();
  /** close()'s work, once called: every call made after it is refused, and every close() waits for it. */
  private closing: Promise<void> | null = null;

  constructor(epicDir: string, options?: ReporterOptions | null) {
    // A listener's promise (an async listener's) is followed by the reporter's emits (Listeners): its
    // rejection is kept for the next call or close(), as the background writer's warning's error.
    super();
    // Checked here by hand: a constructor cannot wait for the zod schemas (loaded on a method's first call).
    if (typeof epicDir !== "string" || epicDir.trim() === "") {
      throw new UsageError(
        `createParallelReporter: epicDir must be the path of the epic directory, got ${quote(epicDir)}`,
      );
    }
    // Optional, so null too (as every optional parameter of the library); checked at the first call.
    this.core = new ReporterCore(this, epicDir, options ?? {});
  }

  /**
   * The next call was made at `madeAt` (epoch ms) and is applied only now: a change kept while the store
   * did not answer (the CLI applies those when it answers again). An agent change: a run finalized after
   * `madeAt` still takes it, as it came before the end, with `madeAt` as its time and the run's last event
   * kept; `status`, the history and the progress comment show it, and the final summary, posted at the
   * finalize, is not posted again. A run finalized before `madeAt` refuses it, as it refuses any change.
   * An active run takes it at `madeAt` too, but not before its agent's last report nor after the store's
   * now. A finalize: the run records `madeAt` as its end for such changes (`finalizeMadeAt`). Marks the next
   * call only, whatever it is (a call refused by its own checks included); null clears it.
   */
  applyingKeptChange(madeAt: number | null): void {
    if (madeAt !== null && !isDateMs(madeAt)) {
      throw new UsageError(
        `applyingKeptChange: madeAt must be epoch milliseconds or null, got ${quote(madeAt)}`,
      );
    }
    this.keptMadeAt = madeAt;
  }

  /** The epic directory this reporter works in. */
  get directory(): string {
    return this.core.epicDir;
  }

  /** Where the run is looked for, for messages: the database store's epic, else the epic directory. */
  get place(): RunPlace {
    return this.core.place;
  }

  /** The store holding the run (to follow it: `read()` and `subscribe()`). */
  get runStore(): RunStore {
    return this.core.store;
  }

  /** The state as this reporter last saw it. Throws before a run was started or loaded. */
  get executionState(): RunState {
    const { state } = this.core;
    if (!state) throw new UsageError("no run loaded: call initializeParallelTracking() or load() first");
    return state;
  }

  /** Loads the run in the epic directory (null when there is none). */
  load(): Promise<RunState | null> {
    return this.call("load", [], () => this.core.read());
  }

  initializeParallelTracking(
    epicId: string,
    domains: readonly string[],
    epicDir?: string,
    options: StartOptions = {},
  ): Promise<AgentRef[]> {
    return this.call(
      "initializeParallelTracking",
      [epicId, domains, epicDir, options],
      () => {
        const deadline = commandDeadline(this.core.timer.now());
        const id = assertEpicId(epicId, "initializeParallelTracking: epicId");
        // A database store holds the runs of its own epic: a run of another epic would be stored under it.
        const storeEpic = this.core.store.database?.epicId;
        if (storeEpic !== undefined && storeEpic !== id) {
          throw new UsageError(
            `initializeParallelTracking: epicId ${quote(id)} differs from the store's epic ${quote(storeEpic)}: start it with the epic the store was created for, or a store created for ${quote(id)}`,
          );
        }
        const method = "initializeParallelTracking";
        const list = checkDomains(domains, quote(domains), this.label(method, "domains"));
        if (options.maxCostUsd !== undefined) {
          checkCost(options.maxCostUsd, this.label(method, "options.maxCostUsd"));
        }
        // Checked and started in `epicDir`: the reporter moves there only once the run has started.
        const place = this.core.workplace(epicDir ?? this.core.epicDir);
        return startRun(this.core, place, id, list, options, deadline, {
          epicId: this.label(method, "epicId", "epic"),
          domains: this.label(method, "domains"),
        });
      },
      { agent: null },
    );
  }

  /**
   * Adds agents to the active run (orchestrators that discover work as they go), at the top level or
   * under `parent` (an agent id or domain). A parent's files become its children's sums; see applyAdd
   * for what is refused. Resolves to the new agents, in the order given.
   */
  addAgents(domains: readonly string[], options: { parent?: string | null } = {}): Promise<AgentRef[]> {
    return this.call(
      "addAgents",
      [domains, options],
      async () => {
        const label = this.label("addAgents", "domains");
        const list = checkDomains(domains, quote(domains), label);
        const parent = options.parent ?? null;
        // A token gh gives is a secret as the environment's are (refused in a name): asked for first.
        const seen = this.core.state ?? (await this.core.store.read());
        if (seen && canSync(seen)) await this.core.learnTokens(seen.github.apiUrl);
        let added: AgentRef[] = [];
        await applyChange(this.core, null, (state, now) => {
          refuseSecretsIn(list, this.core.secrets(), label);
          const result = applyAdd(state, list, parent, now);
          added = result.added.map(({ agentId, domain }) => ({ agentId, domain }));
          return result.state;
        });
        return added;
      },
      { agent: null },
    );
  }

  /**
   * `filesCompleted`/`filesTotal` left out keep the agent's current counts; so do metrics left out
   * (`iteration` with `maxIterations`, `criteriaVerified` with `criteriaTotal`, `costUsd`: the agent's
   * cost so far in US dollars).
   */
  updateAgentProgress(
    agentId: string,
    status: UpdateStatus,
    filesCompleted?: number,
    filesTotal?: number,
    metrics?: AgentMetrics,
  ): Promise<void> {
    const args = [agentId, status, filesCompleted, filesTotal, metrics];
    return this.call(
      "updateAgentProgress",
      args,
      (madeAt) => {
        if (!UPDATE_STATUSES.includes(status)) {
          throw new UsageError(
            `updateAgentProgress: status must be one of pending, in_progress, completed, failed, got ${quote(status)}`,
          );
        }
        if (metrics) checkMetrics(metrics, "updateAgentProgress: metrics");
        return applyChange(
          this.core,
          agentId,
          (state, now) => applyProgress(state, agentId, { status, filesCompleted, filesTotal, metrics }, now),
          {
            madeAt,
            report: `update ${status}${filesCompleted === undefined ? "" : ` ${filesCompleted}/${filesTotal ?? "?"}`}`,
          },
        );
      },
      { agent: this.turnOf(agentId) },
    );
  }

  /** `metrics`, as updateAgentProgress's: the agent's last ones (its final cost), applied with the change. */
  markAgentComplete(agentId: string, resultSummary?: string | null, metrics?: AgentMetrics): Promise<void> {
    return this.call(
      "markAgentComplete",
      [agentId, resultSummary, metrics],
      (madeAt) => {
        checkNoNul(resultSummary, "markAgentComplete: resultSummary");
        if (metrics) checkMetrics(metrics, "markAgentComplete: metrics");
        // Masked as the change runs: a store's secret may be known only once it is reached (see masked).
        return applyChange(
          this.core,
          agentId,
          (state, now) =>
            applyComplete(state, agentId, this.core.masked(resultSummary) ?? null, now, metrics),
          { madeAt, keepsText: Boolean(resultSummary?.trim()), report: "complete" },
        );
      },
      { agent: this.turnOf(agentId) },
    );
  }

  /** `metrics`: as markAgentComplete's. */
  markAgentFailed(agentId: string, errorMessage: string, metrics?: AgentMetrics): Promise<void> {
    return this.call(
      "markAgentFailed",
      [agentId, errorMessage, metrics],
      (madeAt) => {
        checkErrorMessage(errorMessage, "markAgentFailed: errorMessage");
        checkNoNul(errorMessage, "markAgentFailed: errorMessage");
        if (metrics) checkMetrics(metrics, "markAgentFailed: metrics");
        return applyChange(
          this.core,
          agentId,
          (state, now) => applyFail(state, agentId, this.core.masked(errorMessage), now, metrics),
          { madeAt, keepsText: true, report: "fail" },
        );
      },
      { agent: this.turnOf(agentId) },
    );
  }

  /**
   * Marks an agent cancelled (it will do no more work), with an optional reason shown on the issue;
   * `metrics`: as markAgentComplete's (what the agent cost until it stopped).
   */
  cancelAgent(agentId: string, reason?: string | null, metrics?: AgentMetrics): Promise<void> {
    return this.call(
      "cancelAgent",
      [agentId, reason, metrics],
      (madeAt) => {
        checkNoNul(reason, "cancelAgent: reason");
        if (metrics) checkMetrics(metrics, "cancelAgent: metrics");
        return applyChange(
          this.core,
          agentId,
          (state, now) =>
            applyCancel(state, agentId, reason?.trim() ? this.core.masked(reason) : null, now, metrics),
          { madeAt, keepsText: Boolean(reason?.trim()), report: "cancel" },
        );
      },
      { agent: this.turnOf(agentId) },
    );
  }

  /** Records an event in the agent's log; the comment shows each agent's latest few. */
  logAgentEvent(agentId: string, message: string): Promise<void> {
    return this.call(
      "logAgentEvent",
      [agentId, message],
      (madeAt) => {
        const text = checkEventMessage(message, "logAgentEvent: message");
        checkNoNul(text, "logAgentEvent: message");
        return applyChange(
          this.core,
          agentId,
          (state, now) => applyLog(state, agentId, this.core.masked(text), now),
          { madeAt, keepsText: true },
        );
      },
      { agent: this.turnOf(agentId) },
    );
  }

  /**
   * Retries the queue, then brings the progress comment to its final state and posts the final summary
   * as a new comment. Idempotent: a second call posts nothing new. Resolves once posted or queued.
   */
  finalizeParallelExecution(mergeSummary?: string | null): Promise<FinalizeResult> {
    return this.finalizeWith(mergeSummary, 0);
  }

  /**
   * finalizeParallelExecution of a summary of which `unread` more characters (UTF-16 units) followed what
   * is given: the CLI's `--summary-file` holds only the start of a huge one (the run counts the rest as
   * not kept).
   */
  protected finalizeWith(mergeSummary: string | null | undefined, unread: number): Promise<FinalizeResult> {
    return this.call(
      "finalizeParallelExecution",
      [mergeSummary],
      (madeAt) => {
        checkNoNul(mergeSummary, "finalizeParallelExecution: mergeSummary");
        return finalizeRun(this.core, mergeSummary, madeAt, unread);
      },
      { agent: null },
    );
  }

  /** Retries the offline queue; resolves to the number of queued posts now delivered. */
  retryOfflineQueue(): Promise<number> {
    return this.call("retryOfflineQueue", [], async () => (await retry(this.core, {})).sent);
  }

  /**
   * The queue retry with its full report (`dryRun`: only say what would be sent). Everything it sends
   * gives up at `deadline` (epoch ms; default: the command's deadline, 9.5 s from now) and stays queued.
   */
  retryReport(options: { dryRun?: boolean; deadline?: number } = {}): Promise<RetryReport> {
    return this.call("retryReport", [options], () => retry(this.core, options));
  }

  /** The run as `status --json` shows it. */
  status(): Promise<StatusView> {
    return this.call("status", [], async () => {
      const state = await this.core.read();
      if (!state) throw noRunError(this.core.place);
      await warnOfRefusedTaskFile(this.core, state);
      return this.viewOf(state);
    });
  }

  /** `state` as status() shows it, with what the offline queue holds for it. */
  protected async viewOf(given: RunState): Promise<StatusView> {
    const state = await this.shown(given);
    const { toStatusView } = await import("./model/status-view.js");
    const { queue } = this.core;
    const queued =
      queue.count() === 0 ? 0 : await (await import("./sync/retry-plan.js")).stillQueuedFor(queue, state);
    return toStatusView(state, this.core.storeNow(), queued, queue.setAsideEarlier().length);
  }

  /**
   * Asks gh for the token of this call's API (given, else GITHUB_API_URL, else api.github.com) when no
   * environment holds one, so that secrets() masks it: for text kept before the run could be read.
   */
  protected learnCallTokens(): Promise<void> {
    return this.core.learnTokens(resolveApiUrl(this.core.overrides.apiUrl, this.core.env));
  }

  /**
   * The secrets this reporter keeps out of what it keeps and says (ReporterCore.secrets: the environment's,
   * the store's once reached, the tokens gh gave), for a caller's own messages.
   */
  protected knownSecrets(): string[] {
    return this.core.secrets();
  }

  /**
   * `state` as it is posted (SyncDeps.maskState: a token only gh gives masked in its text), for what shows
   * a run that posts; a local run as it is (no gh asked).
   */
  protected shown(state: RunState): Promise<RunState> {
    return canSync(state) ? this.core.maskState(state) : Promise.resolve(state);
  }

  /**
   * Waits until the calls made before it have settled (as close() does), then until this process's
   * background writer (the "timer" one) is done: the issue is up to date, or what it lacks is queued.
   * Bounded: each call gives up on GitHub by its deadline, and the timer writer lives 15 s
   * (TIMER_WRITER.lifetimeMs) from the reporter's latest change, so changes made while it waits extend
   * the wait.
   */
  flush(): Promise<void> {
    const before = this.callsSettled();
    return this.call("flush", [], async () => {
      await before;
      await this.core.writer.flushed();
    });
  }

  /** Settles once every call made until now has settled (flush() and close() wait for them). */
  private async callsSettled(): Promise<void> {
    await Promise.allSettled([...this.calls]);
  }

  /**
   * The turn a change of agent `ref` takes (CallOrder): its agent id, whatever name it is called by (an id,
   * its domain, in any case), as the reporter last saw the run; a change of the run (null) when the name
   * names no agent there yet, or an agent with children (its completion waits on theirs).
   */
  private turnOf(ref: string): string | null {
    const state = this.core.state;
    if (!state) return null;
    try {
      const agent = findAgent(state, ref);
      return hasChildren(state, agent.agentId) ? null : agent.agentId;
    } catch {
      return null;
    }
  }

  /**
   * What a caller's mistake in `method` calls its input `parameter`: `method: parameter` (an empty
   * `parameter`: the start of a message, `method: `). The CLI's reporter says `cli`: its messages name its
   * own options, or nothing.
   */
  protected label(method: ApiMethod, parameter: string, _cli = parameter): string {
    return `${method}: ${parameter}`;
  }

  /**
   * How every public method but close() runs: its arguments and the reporter's options checked
   * (checkArguments) and the GitHub API it is configured with, then a UsageError if close() was called
   * before this call was made, then `work` (with the time the call was made, if it is applied later: see
   * applyingKeptChange). The call is counted until it settles, for close() to wait for.
   */
  private call<T>(
    method: ApiMethod,
    args: readonly unknown[],
    work: (madeAt: number | null) => Promise<T> | T,
    change?: { agent: string | null },
  ): Promise<T> {
    // The kept change's time marks this call only, whatever it is and whether or not it gets through.
    const madeAt = this.keptMadeAt;
    this.keptMadeAt = null;
    // Whether close() came first is decided now: a call made before it is not refused while it loads.
    const refused = this.closing !== null;
    // What async listeners' promises rejected with until now is this call's to throw (Listeners.callMade).
    this.core.listeners.callMade();
    const run = async () => {
      try {
        await this.checkArguments(method, args);
        // The GitHub API this call is configured with (the option, else GITHUB_API_URL) is checked before
        // anything is changed, not when a write is due (the change saved, then refused).
        resolveApiUrl(this.core.options.github?.apiUrl, this.core.env);
        if (refused) throw new UsageError(`${method}: this reporter was closed: create a new one`);
        return await work(madeAt);
      } catch (error) {
        throw this.withoutSecrets(this.named(method, error));
      }
    };
    // A change takes its turn now, in the order of the calls (CallOrder); a read runs at once.
    const running = change ? this.order.turn(change.agent, run) : run();
    this.calls.add(running);
    const settled = () => this.calls.delete(running);
    running.then(settled, settled);
    return running;
  }

  /**
   * A refusal the run itself made (an unknown agent, a finalized run, a parent with unfinished children)
   * named by the method that met it, as its argument checks are: `markAgentComplete: unknown agent "x": …`.
   * A message that names a method already (the checks', the options', one named by an earlier call) is
   * left as it is, and so is a caller's listener's error (the caller's own); so is every message of the
   * CLI's reporter (its label is empty: its messages name its options, or nothing).
   */
  private named(method: ApiMethod, error: unknown): unknown {
    const name = this.label(method, "", "");
    if (!(error instanceof UsageError) || name === "" || thrownByListener(error)) return error;
    // `updateAgentProgress: …`, `createParallelReporter: …`: a method's name, as the checks' messages begin
    // (the run's own refusals begin otherwise: `unknown agent "x": …`, `run … was finalized`).
    if (/^[A-Za-z]+: /.test(error.message)) return error;
    // The stack as it is (V8 writes it at its first read, with the message of then), then named too.
    const { message, stack } = error;
    error.message = `${name}${message}`;
    if (stack?.includes(message)) error.stack = stack.replace(message, () => error.message);
    return error;
  }

  /**
   * `error` as the caller gets it: one of this library's (a caller's mistake, the store or the queue in
   * trouble) with the secrets this reporter knows masked in its message and stack (a value echoed as typed:
   * the environment's token given as an agent, the password ~/.pgpass gave); any other as it is (a
   * listener's own error is the caller's). GitHub's errors are masked where they are made.
   */
  private withoutSecrets(error: unknown): unknown {
    const ours =
      error instanceof UsageError ||
      error instanceof StoreUnavailableError ||
      error instanceof QueueUnwritableError ||
      error instanceof LockTimeoutError;
    if (!ours) return error;
    const secrets = this.core.secrets();
    error.message = maskSecrets(error.message, secrets);
    if (error.stack) error.stack = maskSecrets(error.stack, secrets);
    return error;
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
    if (!this.optionsChecked) checkOptions(this.core.options);
    this.optionsChecked = true;
    checkArguments(method, args);
    const given = method === "initializeParallelTracking" ? args[2] : undefined;
    if (typeof given === "string") checkEpicDir(this.core.fs, resolve(given), `${method}: epicDir`);
    else checkEpicDir(this.core.fs, this.core.epicDir, "createParallelReporter: epicDir");
  }

  /**
   * Ends the reporter's background work, once the calls made before it have settled: the timer writer
   * stops at its next wait (a write in progress ends by its deadline, 9.5 s at most), what the issue
   * still lacks is queued for `retry`, and the store the reporter made is closed; then the promises async
   * listeners returned that are still pending are waited for, 10 s at most (LISTENER_WAIT_MS: one still
   * pending then is warned of, not waited for). Calls made after it reject; so does close() with a
   * listener's error that no call has thrown yet. Called again, it resolves (or rejects) with the first.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.callsSettled();
      await this.core.writer.close();
      // An async listener's promise may settle after the call that emitted: waited for, within a bound.
      const { listeners, options } = this.core;
      const left = await listeners.settled(LISTENER_WAIT_MS, options.sleep ?? sleep);
      listeners.callMade();
      if (left > 0) {
        this.core.warn(
          `close(): ${left === 1 ? "a listener's promise" : `${left} listeners' promises`} had not settled ${LISTENER_WAIT_MS / 1000} s after the reporter's work was done; not waited for longer (what ${left === 1 ? "it rejects" : "they reject"} with later is not thrown)`,
        );
      }
      listeners.rethrow();
    })();
    return this.closing;
  }

  /** Runs as the detached background writer (`__flush`): writes the latest state when due, then exits. */
  runBackgroundWriter(): Promise<void> {
    return this.call("runBackgroundWriter", [], () => writeInBackground(this.core));
  }

  /** Runs as a standby writer (`__flush --standby`): see ReporterOptions.standbyWriter. */
  protected standBy(): Promise<void> {
    return this.call("runBackgroundWriter", [], () => writeInBackground(this.core, { standby: true }));
  }
}

/** How long close() waits for the promises listeners returned that are still pending. */
const LISTENER_WAIT_MS = 10_000;

/** Creates a reporter for an epic directory (the original design's `create_parallel_reporter`). */
export function createParallelReporter(
  epicDir: string,
  options?: ReporterOptions | null,
): ParallelProgressReporter {
  return new ParallelProgressReporter(epicDir, options);
}
