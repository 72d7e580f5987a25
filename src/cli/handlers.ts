import { checkCompletedFiles, checkErrorMessage, checkEventMessage, givenEpic } from "../config/options.js";
import { StoreUnavailableError, UsageError } from "../errors.js";
import type { StatusView } from "../model/status-view.js";
import type { AgentMetrics, UpdateStatus } from "../model/types.js";
import type { ParallelProgressReporter } from "../reporter.js";
import { storeTime } from "../store/store-time.js";
import { randomHex } from "../util/random.js";
import { sleep } from "../util/sleep.js";
import { appendSummary, setOutput } from "./actions.js";
import { agentChange } from "./agent-change.js";
import { type CommonOptions, type Context, createContext } from "./context.js";
import { readSummaryFile } from "./summary-file.js";

/**
 * What each command does, given its parsed arguments (commands.ts): call the library, print the result,
 * return the exit code. No argv here.
 */

export type Files = { done: number; total: number };

export async function runInit(
  options: CommonOptions & {
    epic?: string;
    domains: string[];
    json?: boolean;
    force?: boolean;
    stallAfter?: number;
    maxCost?: number;
  },
): Promise<number> {
  const epic = givenEpic(options.epic, process.env);
  if (!epic)
    throw new UsageError("init needs the run's epic: give --epic <id> or set PARALLEL_PROGRESS_EPIC");
  const context = createContext({ ...options, epic }, { anyEpic: true });
  const agents = await applyKeptFirst(context)
    .then(() =>
      context.reporter.initializeParallelTracking(epic, options.domains, undefined, {
        force: options.force ?? false,
        ...(options.stallAfter === undefined ? {} : { stallAfterMs: options.stallAfter }),
        ...(options.maxCost === undefined ? {} : { maxCostUsd: options.maxCost }),
      }),
    )
    .catch(
      notKept(
        "the run was not started, unless the database took it and its answer was lost: `status` shows which once the database answers (init is not kept for later: the agent ids it prints must be the run's own)",
      ),
    );
  // Said if the output is lost (a full disk): the caller needed the agent ids, and `status` has them.
  const started = "the run was started (its agent ids are in `parallel-progress status`)";
  if (options.json) context.out.data(JSON.stringify(await initView(context), null, 2), started);
  else context.out.data(agents.map(({ domain, agentId }) => `${domain}\t${agentId}`).join("\n"), started);
  return publishCommentUrl(context);
}

export async function runAdd(
  options: CommonOptions & { domains: string[]; parent?: string },
): Promise<number> {
  const context = createContext(options);
  const agents = await applyKeptFirst(context)
    .then(() => context.reporter.addAgents(options.domains, { parent: options.parent ?? null }))
    .catch(
      notKept(
        "no agent was added (add is not kept for later: the agent ids it prints must be the run's own)",
      ),
    );
  context.out.data(
    agents.map(({ domain, agentId }) => `${domain}\t${agentId}`).join("\n"),
    "the agents were added (their ids are in `parallel-progress status`)",
  );
  return publishCommentUrl(context);
}

/** The metric options of update, complete, fail and cancel, as parsed (commands.ts: metricOptions). */
interface MetricOptions {
  iteration?: { iteration: number; maxIterations: number };
  criteria?: { criteriaVerified: number; criteriaTotal: number };
  cost?: number;
}

/** The change's `metrics` from the options given: none when none is. */
function metricsOf(options: MetricOptions): { metrics?: AgentMetrics } {
  const metrics: AgentMetrics = {
    ...options.iteration,
    ...options.criteria,
    ...(options.cost === undefined ? {} : { costUsd: options.cost }),
  };
  return Object.keys(metrics).length > 0 ? { metrics } : {};
}

export async function runUpdate(
  agent: string,
  options: CommonOptions & MetricOptions & { status: UpdateStatus; files?: Files | undefined },
): Promise<number> {
  checkCompletedFiles(options.status, options.files);
  const context = createContext(options);
  // Without --files the agent's counts stay as they are (kept inside the change's transaction).
  await agentChange(context, {
    kind: "update",
    agent,
    status: options.status,
    filesCompleted: options.files?.done,
    filesTotal: options.files?.total,
    ...metricsOf(options),
  });
  return publishCommentUrl(context);
}

export async function runComplete(
  agent: string,
  options: CommonOptions & MetricOptions & { summary?: string },
): Promise<number> {
  const context = createContext(options);
  await agentChange(context, {
    kind: "complete",
    agent,
    summary: options.summary ?? null,
    ...metricsOf(options),
  });
  return publishCommentUrl(context);
}

export async function runFail(
  agent: string,
  options: CommonOptions & MetricOptions & { error: string },
): Promise<number> {
  // The library's checks, before a change is kept on disk while the database is down.
  checkErrorMessage(options.error, "--error");
  const context = createContext(options);
  await agentChange(context, { kind: "fail", agent, error: options.error, ...metricsOf(options) });
  return publishCommentUrl(context);
}

export async function runCancel(
  agent: string,
  options: CommonOptions & MetricOptions & { reason?: string },
): Promise<number> {
  const context = createContext(options);
  await agentChange(context, {
    kind: "cancel",
    agent,
    reason: options.reason ?? null,
    ...metricsOf(options),
  });
  return publishCommentUrl(context);
}

export async function runLog(agent: string, message: string, options: CommonOptions): Promise<number> {
  checkEventMessage(message);
  const context = createContext(options);
  await agentChange(context, { kind: "log", agent, message });
  return publishCommentUrl(context);
}

export async function runFinalize(
  options: CommonOptions & { summary?: string; summaryFile?: string },
): Promise<number> {
  if (options.summary !== undefined && options.summaryFile !== undefined) {
    throw new UsageError("give --summary or --summary-file, not both");
  }
  const { text: summary, unread } =
    options.summaryFile !== undefined
      ? readSummaryFile(options.summaryFile)
      : { text: options.summary ?? "", unread: 0 };
  // When the finalize was given, before the database is asked (a kept finalize is timed so: offline.ts).
  const madeAt = Date.now();
  const context = createContext(options);
  const { out, reporter, actions, store } = context;
  let result: Awaited<ReturnType<typeof reporter.finalizeParallelExecution>>;
  const keep = async (why: { said: string; until: string; which?: string }) => {
    const { keepChange, pendingOf } = await offline();
    const change = { kind: "finalize" as const, summary, ...(unread > 0 ? { unread } : {}) };
    const kept = { id: randomHex(32), change, madeAt };
    await keepChange(context, store!, pendingOf(context), why, kept);
    return 0;
  };
  try {
    // What this machine kept waits for its agents' children's changes: the finalize, made after it, waits
    // behind it (exit 0, one warning saying both), as it would have while the database was down.
    const replayed = store
      ? await (await offline()).replayPending(context, undefined, { warnOfWait: false })
      : null;
    if (replayed?.waitsUntil) {
      const until = new Date(replayed.waitsUntil).toISOString();
      return await keep({
        said: `${replayed.waiting} change(s) kept here wait for their agents' children's (${replayed.waitsFor}; set aside if those are not applied by ${until})`,
        until: "applied after them",
      });
    }
    result = await reporter.finalizeWith(summary, unread);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError) || !store) throw error;
    // Kept after this machine's kept changes; applied once the database answers (exit 0, one warning).
    const { unanswered } = await offline();
    return keep(unanswered(error, store));
  }
  if (!result.finalizedNow) out.info("the run was already finalized");
  // Idempotent, but a summary that differs from the one posted is not dropped without a word.
  if (result.summaryUnused) {
    const kept = reporter.executionState.mergeSummary ?? "";
    out.warn(
      `the run was already finalized with ${kept.trim() === "" ? "no summary" : "another summary"}, which stays (a final summary is posted once): this one was not used`,
    );
  }
  if (result.posted)
    out.info(`final summary on the issue${result.finalCommentUrl ? `: ${result.finalCommentUrl}` : ""}`);
  if (result.queued > 0) out.warn(queuedLine(result.queued, result.waitingUntil));
  if (actions && result.finalizedNow) {
    const { renderFinalComment } = await import("../render/progress-comment.js");
    appendSummary(
      actions,
      renderFinalComment(await reporter.shownState(), { now: storeNow(reporter) }),
      out.warn,
    );
  }
  return publishCommentUrl(context);
}

export async function runRetry(options: CommonOptions & { dryRun?: boolean }): Promise<number> {
  const context = createContext(options);
  const { out, reporter, store } = context;
  let report: Awaited<ReturnType<typeof reporter.retryReport>>;
  /** Kept changes the database shows no run for (replayPending warned of them). */
  let waiting = 0;
  try {
    if (store && !options.dryRun) {
      const replayed = await (await offline()).replayPending(context);
      if (replayed.applied > 0)
        out.info(`${replayed.applied} change(s) kept while the database was down applied`);
      waiting = replayed.waiting;
    }
    report = await reporter.retryReport({ dryRun: options.dryRun ?? false });
    if (store && options.dryRun) {
      // Not applied by a dry run, but what retry would apply (and exit 3 for while any waits): said so.
      const kept = await (await offline()).keptHere(context);
      waiting = kept.count;
      if (waiting > 0) {
        out.warn(
          `${waiting} change(s) kept on this machine while the database did not answer are not in the run yet (${kept.dir}): retry tries them, in order (a dry run cannot tell which the run will take: retry applies each, or sets it aside when the run refuses it, or leaves a parent's complete waiting for its children's)`,
        );
      }
    }
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    // Nothing could be sent or checked: what is kept and queued stays; exit 3, as with posts queued.
    const kept = await (await offline()).keptHere(context);
    out.warn(
      `${error.message}: nothing was sent; ${kept.count} change(s) stay kept in ${kept.dir}; run \`parallel-progress retry\` again when the database answers`,
    );
    return 3;
  }
  if (options.dryRun) {
    for (const { name, action, item } of report.plan) {
      out.data(
        [name, action, item.kind, `${item.repo}#${item.issue_number}`, item.run_id, item.seq].join("\t"),
      );
    }
    // What the run owes its issue that nothing queued holds (a process ended before its write): no file.
    for (const { action, kind, repo, issueNumber, runId, seq } of report.owed) {
      out.data(["-", action, kind, `${repo}#${issueNumber}`, runId, seq].join("\t"));
    }
    // Why nothing would be sent (sync is off, or the call is configured for another API), as retry says it.
    for (const message of report.errors) out.warn(`GitHub: ${message}`);
  } else {
    out.info(`${report.sent} post(s) delivered, ${report.remaining} remaining`);
    for (const message of report.errors) out.warn(`GitHub: ${message}`);
    // Exit 3 always says how many stay, and until when a rate limit holds them.
    if (report.remaining > 0 || report.waitingUntil !== null) {
      out.warn(queuedLine(report.remaining, report.waitingUntil));
    }
    await publishCommentUrl(context);
  }
  return report.remaining > 0 || waiting > 0 ? 3 : 0;
}

export async function runStatus(
  options: CommonOptions & { json?: boolean; markdown?: boolean },
): Promise<number> {
  if (options.json && options.markdown) throw new UsageError("give --json or --markdown, not both");
  const context = createContext(options);
  const { out, reporter } = context;
  const { view, kept } = await keptView(context, await reporter.status().catch(keptToo(context)));
  if (context.store) (await offline()).warnSetAside(context);
  // What this machine keeps is not in the run yet: said, not applied (status changes nothing), also what
  // was made before the run started, which it will not take, for as long as it waits here.
  if (kept && kept.count > 0) out.warn(keptLine(kept, view));
  if (options.json) {
    out.data(JSON.stringify(view, null, 2));
    return 0;
  }
  const state = await reporter.shownState();
  const now = storeNow(reporter);
  if (options.markdown) {
    const { renderProgressComment, renderFinalComment } = await import("../render/progress-comment.js");
    out.data(state.completedAt ? renderFinalComment(state, { now }) : renderProgressComment(state, { now }));
    return 0;
  }
  const { terminalTable } = await import("./terminal-table.js");
  out.data(terminalTable(state, now));
  out.data(syncLine(view));
  return 0;
}

/**
 * status's warning of the changes this machine keeps for the run `view`: those it will not take said so
 * (`early`: made before it started; `late`: agents' changes made after it was finalized).
 */
function keptLine({ dir, count, early, late }: KeptHere, view: StatusView) {
  const head = `${count} change(s) kept on this machine while the database did not answer are not in the run yet (${dir})`;
  const next = "the next change, `retry` or `finalize`";
  const refused = early + late;
  if (refused === 0) return `${head}: ${next} applies them`;
  const all = refused === count;
  const were = (n: number) =>
    all && n === count ? (count === 1 ? "it was" : "they were") : `${n} of them were`;
  const why = [
    early > 0
      ? `${were(early)} made before this run started (${view.startedAt}), which takes no change made before it`
      : null,
    late > 0
      ? `${were(late)} made after it was finalized (${view.completedAt}), which takes no change made after it`
      : null,
  ].filter((part) => part !== null);
  const rest = all ? "" : `, and applies the other ${count - refused}`;
  return `${head}: ${why.join("; ")}: ${next} sets ${refused === 1 ? "it" : "them"} aside, not applied${rest}`;
}

/** What this machine keeps for the run (offline.ts: keptHere). */
type KeptHere = { dir: string; count: number; early: number; late: number };

/** The last line of `status`: where the run is posted and whether the issue is up to date. */
function syncLine({ sync, repo, issueNumber, completedAt }: StatusView): string {
  if (!sync.enabled) {
    // What was queued before sync was turned off stays, and is sent once it is on again.
    const kept = sync.queued > 0 ? [`${sync.queued} queued post(s), kept while sync is off`] : [];
    return ["GitHub: local tracking only", ...kept, ...setAsideParts(sync)].join("; ");
  }
  const where = sync.commentUrl ?? `${repo}#${issueNumber} (no comment yet)`;
  const behind = sync.seq - sync.postedSeq;
  const lacking = [
    ...(behind > 0 ? [`${behind} change(s) not on the issue yet`] : []),
    ...(completedAt !== null && !sync.finalPosted ? ["final summary not on the issue yet"] : []),
  ];
  const parts = [
    where,
    ...(lacking.length > 0
      ? lacking
      : sync.settleUntil
        ? [
            `written again at ${sync.settleUntil.slice(11, 19)} UTC (an earlier edit, unanswered or by a killed writer, may land until then)`,
          ]
        : ["up to date"]),
  ];
  if (sync.queued > 0) parts.push(`${sync.queued} queued post(s): parallel-progress retry`);
  parts.push(...setAsideParts(sync));
  if (sync.lastError) parts.push(`last error: ${sync.lastError}`);
  return `GitHub: ${parts.join("; ")}`;
}

/** The queue files set aside as unreadable, said whether the run syncs or not (they are for a person). */
function setAsideParts(sync: StatusView["sync"]): string[] {
  return sync.setAside > 0
    ? [`${sync.setAside} unreadable queue file(s) set aside (*.corrupt): read them, then delete them`]
    : [];
}

/**
 * The background writer (`__flush`): writes the run's latest state when due, then exits; `--standby`: a
 * standby writer (see ReporterOptions.standbyWriter).
 */
export async function runFlush(options: CommonOptions & { standby?: boolean }): Promise<number> {
  const context = createContext({ ...options, quiet: true }, { anyEpic: true });
  // Beside another machine's background writer (ReporterOptions.standbyWriter): a database store's only.
  if (options.standby) {
    if (context.store) await (await offline()).standBy(context, context.store);
    return 0;
  }
  // Changes this machine kept while the database did not answer: wait for it, then apply them.
  if (context.store) {
    const waited = await (await offline()).waitAndReplay(context, sleep).catch(() => undefined);
    // Another writer waits for the database with this machine's changes: it writes the run once they
    // are applied (this one would only wait on the same database again).
    if (waited === "left") return 0;
  }
  await context.reporter.runBackgroundWriter();
  return 0;
}

/** The time a table is drawn at: the store's clock (a database's, see RunStore.now), else this machine's. */
function storeNow(reporter: ParallelProgressReporter): number {
  return storeTime(reporter.runStore, Date.now);
}

/** What a database store adds to the commands (offline.ts): a bundle of its own, read only then. */
const offline = () => import("./offline.js");

/**
 * `init` and `add` with a database store: what this machine kept while the database did not answer is
 * applied first, in order (offline.ts: replayPending), as an agent's change, `retry` and `finalize` do. It
 * was made before this command, for the run the epic had then: a kept finalize ends that run before an
 * `init` starts the next (rather than `init --force` abandoning it), a kept report reaches it before an
 * `init --force` replaces it, and an `add` comes after the changes made before it. A database that shows no
 * run of the epic yet (a first `init`) is not warned of: what waits stays kept (`status` counts it; the
 * next change sets aside what the new run will not take). A database that does not answer throws, as the
 * command would itself.
 */
async function applyKeptFirst(context: Context): Promise<void> {
  if (!context.store) return;
  const { applied } = await (await offline()).replayPending(context, undefined, { warnOfNoRun: false });
  if (applied > 0) context.out.info(`${applied} change(s) kept while the database was down applied`);
}

/**
 * For a command that cannot be kept for later (its output must be the run's own): the database not
 * answering says what was not done (exit 1, see exit.ts).
 */
function notKept(what: string): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof StoreUnavailableError)) throw error;
    throw new StoreUnavailableError(`${error.message}; ${what}`, { cause: error });
  };
}

/**
 * For `status`: the database not answering says how many changes this machine keeps for it (for its
 * database and epic), when it keeps any (exit 1, see exit.ts).
 */
function keptToo(context: Context): (error: unknown) => Promise<never> {
  return async (error) => {
    if (!(error instanceof StoreUnavailableError) || !context.store) throw error;
    const kept = await (await offline()).keptHere(context);
    if (kept.count === 0) throw error;
    const wait = `${kept.count} change(s) kept on this machine wait for it (${kept.dir})`;
    throw new StoreUnavailableError(`${error.message}; ${wait}`, { cause: error });
  };
}

/** In GitHub Actions, a command that knows the progress comment's URL sets it as the step output `comment-url`. */
async function publishCommentUrl({ actions, reporter, out }: Context): Promise<number> {
  if (!actions) return 0;
  // Read again: the write this call made is recorded in the store after the state the call holds. A
  // database that does not answer (the change kept, or init's run saved before it stopped answering, as
  // the warning said) leaves the output unset: the command itself succeeded.
  const state = await reporter.load().catch((error: unknown) => {
    if (error instanceof StoreUnavailableError) return null;
    throw error;
  });
  const url = state?.sync.commentUrl;
  if (url) setOutput(actions, "comment-url", url, out.warn);
  return 0;
}

/**
 * What `init --json` prints: the run as `status --json` shows it; when the database stopped answering
 * after the run was saved (init warned), the run as init saved it.
 */
async function initView(context: Context): Promise<StatusView> {
  const view = await context.reporter.status().catch((error: unknown) => {
    if (!(error instanceof StoreUnavailableError)) throw error;
    return context.reporter.lastView();
  });
  return (await keptView(context, view)).view;
}

/**
 * `view` with what this machine keeps for the run (a database store: `sync.kept`, the changes made while
 * the database did not answer that the run does not hold yet), and where they are kept.
 */
async function keptView(
  context: Context,
  view: StatusView,
): Promise<{ view: StatusView; kept: KeptHere | null }> {
  if (!context.store) return { view, kept: null };
  const ended = view.completedAt === null ? null : Date.parse(view.completedAt);
  const kept = await (await offline()).keptHere(context, { started: Date.parse(view.startedAt), ended });
  return { view: { ...view, sync: { ...view.sync, kept: kept.count } }, kept };
}

/** The warning of posts left in the offline queue: until when a rate limit holds them, if one does. */
function queuedLine(count: number, waitingUntil: number | null): string {
  if (waitingUntil === null)
    return `${count} post(s) remain to be sent: run \`parallel-progress retry\` later`;
  // To the second, as GitHub gives it (the run's clock may carry it a millisecond either way).
  const until = new Date(Math.round(waitingUntil / 1000) * 1000).toISOString().replace(".000Z", "Z");
  return `GitHub rate limit: ${count} post(s) stay queued until ${until}; run \`parallel-progress retry\` after that`;
}
