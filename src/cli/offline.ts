import { dirname, join } from "node:path";
import { quote } from "../config/show-value.js";
import { StoreConfigError, StoreUnavailableError, UnfinishedChildrenError, UsageError } from "../errors.js";
import { holdsSecret, longSecrets, looksLikeToken, maskSecrets } from "../github/redact.js";
import type { RunState } from "../model/types.js";
import {
  type AgentChange,
  type KeptChange,
  type PendingChange,
  PendingChanges,
} from "../queue/pending-changes.js";
import { statePaths } from "../store/file-store.js";
import { touch, tryLock } from "../store/lock.js";
import type { LazyPgStore } from "../store/open-store.js";
import { databaseName } from "../store/pg/config.js";
import { makeFolder } from "../util/make-folder.js";
import { nodeFileSystem } from "../util/node-fs.js";
import { randomHex } from "../util/random.js";
import { askAgainMs, MAX_ASK_AGAIN_MS } from "../util/sleep.js";
import { applyAgentChange } from "./agent-change.js";
import type { Context } from "./context.js";

/**
 * An agent's change with a database store: changes this machine kept while the database did not answer
 * are applied first, in order and once each; and when the database does not answer now, this change is
 * kept on disk too (`--dir`), with one warning: the call still succeeds.
 */
export async function storeAgentChange(
  context: Context,
  store: LazyPgStore,
  change: AgentChange,
): Promise<void> {
  const { reporter } = context;
  // When the command was given, before the database is asked: a change kept after its connect or
  // statement timeout ran out is still older than a report another machine made meanwhile.
  const madeAt = Date.now();
  const pending = pendingOf(context);
  const id = randomHex(32); // node:crypto is not loaded on this path (start-up time)
  try {
    await replayPending(context, pending);
    await store.correlate(id, false);
    await applyAgentChange(reporter, change);
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    await keepChange(context, store, pending, unanswered(error, store), { id, change, madeAt });
  }
}

/**
 * Why a change is kept: the database did not answer (keepChange's `why`). Whether the epic has a run this
 * machine cannot know then (its `init` may not have reached the database either), so the warning says
 * which run takes it: the one the epic had when it was made, none started later (replayPending).
 */
export const unanswered = (error: StoreUnavailableError, store: LazyPgStore) => ({
  said: error.message,
  until: "applied when the database answers",
  which: `, to the run epic ${quote(store.epicId)} had when it was made: set aside, not applied, if the epic's run started after it (its init came later)`,
});

/**
 * The database did not answer (or what this machine kept waits: `why`): keeps `kept` on this machine's
 * disk (`madeAt`: when its command was given, on this machine's clock, taken before the database was
 * first asked), says so in one warning, and starts the background writer, which waits for the database and
 * applies what is kept (one per machine: runFlush).
 * A finalize is kept once: a second one while the first waits adds nothing (the run is finalized once,
 * with the first summary, as `finalize` twice does when the database answers).
 */
export async function keepChange(
  context: Context,
  store: LazyPgStore,
  pending: PendingChanges,
  why: { said: string; until: string; which?: string },
  kept: { id: string; change: KeptChange; madeAt: number },
): Promise<void> {
  const before = await keptFor(context, pending, store);
  // A finalize of this run is kept once.
  const already =
    kept.change.kind === "finalize" && before.some(({ item }) => item.change.kind === "finalize");
  if (!already) {
    // Kept on disk, text and agent masked: a token only gh gives too (the run, which says whether it
    // posts, cannot be read; gh is asked for this call's API when no environment holds a token).
    await context.reporter.learnTokensForCall();
    refuseSecretRef(kept.change, context.reporter.secrets());
    const change = masked(kept.change, context.reporter.secrets());
    pending.add({
      id: kept.id,
      epicId: store.epicId,
      database: databaseOf(store),
      change,
      madeAt: kept.madeAt,
    });
  }
  const waiting = before.length + (already ? 0 : 1);
  const what =
    kept.change.kind !== "finalize"
      ? "the change is kept"
      : already
        ? "a finalize is already kept"
        : "the finalize is kept";
  context.out.warn(
    `${why.said}: ${what} in ${pending.dir} (${waiting} waiting) and ${why.until} (by the background writer, the next call, retry or finalize)${why.which ?? ""}`,
  );
  await context.startBackgroundWriter();
}

/**
 * The change with its text masked as the reporter masks it when it applies it (`secrets`: the reporter's,
 * the environment's tokens, the store's password and gh's token; and anything shaped like a GitHub
 * token): nothing on this machine's disk holds a secret meanwhile. The agent it names is kept as given:
 * one holding a token or password is refused first (refuseSecretRef), and masking a name would change it
 * (`basic auth-service`, a short password inside an agent id) and lose the change.
 */
function masked(change: KeptChange, secrets: readonly string[]): KeptChange {
  const mask = (text: string) => maskSecrets(text, secrets);
  switch (change.kind) {
    case "complete":
      return { ...change, summary: change.summary === null ? null : mask(change.summary) };
    case "fail":
      return { ...change, error: mask(change.error) };
    case "cancel":
      return { ...change, reason: change.reason === null ? null : mask(change.reason) };
    case "log":
      return { ...change, message: mask(change.message) };
    case "finalize":
      return { ...change, summary: mask(change.summary) };
    case "update":
      return change;
  }
}

/**
 * Refuses a change naming its agent with a token or password (of 8 characters or more, or anything shaped
 * like a GitHub token): no agent's name holds one (names are refused so), so it could never be applied,
 * and it is not written to disk. The message shows it masked, as the database's "unknown agent" does.
 */
function refuseSecretRef(change: KeptChange, secrets: readonly string[]): void {
  if (change.kind === "finalize") return;
  if (!holdsSecret(change.agent, longSecrets(secrets)) && !looksLikeToken(change.agent)) return;
  throw new UsageError(
    `unknown agent ${quote(maskSecrets(change.agent, secrets))}: no agent's name holds a token or password (nothing was kept)`,
  );
}

/**
 * The changes this machine keeps for `store`'s run, oldest first: those of its epic in its database (another
 * database's run of the same epic id, the same directory used with two stores, is not their run; a file of
 * an earlier release names no database). A file that is not a change is set aside, with a warning.
 */
async function keptFor(
  context: Context,
  pending: PendingChanges,
  store: LazyPgStore,
): Promise<{ name: string; item: PendingChange }[]> {
  const names = pending.names();
  if (names.length === 0) return [];
  // The schema (zod) is read only when something is kept: a call with nothing kept loads nothing more.
  const { checkPendingChange } = await import("../queue/pending-schema.js");
  const database = databaseOf(store);
  return names.flatMap((name) => {
    const item = pending.read(name, checkPendingChange);
    if (item === null) return [];
    if ("damaged" in item) {
      context.out.warn(
        `a change kept while the database was down is damaged (${item.damaged}): moved aside as ${item.to}`,
      );
      return [];
    }
    const mine = item.epicId === store.epicId && (item.database === undefined || item.database === database);
    return mine ? [{ name, item }] : [];
  });
}

/** The database a store's changes go to (the client's own defaults from this process's environment). */
function databaseOf(store: LazyPgStore): string {
  return databaseName(store.names, process.env);
}

/**
 * Where this machine keeps changes, and how many it keeps for the context's epic (none without a store),
 * whatever run they were made for: they wait here all the same. With the run's `started` and `ended` (epoch
 * ms, the database's clock; `ended` null while it is active), `early` counts those made before it started,
 * and `late` the agents' changes made after it was finalized, which it will not take (replayPending sets
 * them aside; a finalize made then is applied, or set aside only for a summary of its own).
 */
export async function keptHere(
  context: Context,
  run: { started: number; ended: number | null } = { started: Number.NEGATIVE_INFINITY, ended: null },
): Promise<{ dir: string; count: number; early: number; late: number }> {
  const pending = pendingOf(context);
  const kept = context.store ? await keptFor(context, pending, context.store) : [];
  const skewMs = skewOf(context.store);
  const madeAt = (item: PendingChange) => item.madeAt + skewMs;
  const early = kept.filter(({ item }) => madeAt(item) < run.started).length;
  const { ended } = run;
  const late =
    ended === null
      ? 0
      : kept.filter(({ item }) => item.change.kind !== "finalize" && madeAt(item) > ended).length;
  return { dir: pending.dir, count: kept.length, early, late };
}

/**
 * The database's clock less this machine's, as the store's latest read saw them (0 before any): a kept
 * change's time (this machine's clock) plus it is on the database's, where the run's times are. Under
 * 0.1 s it is 0: measured through a round trip, so small a difference is the measure's own.
 */
function skewOf(store: Context["store"]): number {
  const skew = store?.now ? store.now() - Date.now() : 0;
  return Math.abs(skew) < 100 ? 0 : skew;
}

/** Each call's PendingChanges: one object, which knows what the call set aside (and warned of). */
const pendings = new WeakMap<Context, PendingChanges>();

/** This machine's kept changes (for the file store: none is ever kept). */
export function pendingOf(context: Context): PendingChanges {
  let pending = pendings.get(context);
  if (!pending) {
    pending = new PendingChanges(nodeFileSystem(), statePaths(context.reporter.directory).dir);
    pendings.set(context, pending);
  }
  return pending;
}

/**
 * Applies the changes kept on this machine for this epic, oldest first, to the run they were made for:
 * the epic's latest run, unless it started after the change was made (it replaced the change's run, by
 * `init --force`: the change is set aside with a warning). A change the run already holds
 * (applied by another process, or committed before its answer was lost) is skipped by its correlation id;
 * one the run refuses (its agent is gone) is set aside with a warning, but a parent's complete refused
 * for its unfinished children waits, with those kept after it, for their changes (kept on other machines
 * during the same outage) for CHILDREN_WAIT_MS from when it first waited. A kept finalize is applied as
 * `finalize` is (it is idempotent by itself: a run already finalized posts nothing new, and one whose
 * final summary is not on the issue yet gets it); one that reaches a run another finalize ended with
 * another summary is set aside, with a warning (the first to reach the database ends the run). Stops at
 * the first change the database does not take (StoreUnavailableError propagates). When the database shows
 * no run of the epic (a role whose grant was revoked, another database), nothing is set aside: all wait,
 * with a warning (unless `warnOfNoRun` is false: `init`, for which no run yet is the usual case, and `add`,
 * which says so itself). Resolves to the number applied, the number left waiting so, and until when a change
 * waits for its children's (or null) and why (`waitsFor`: warned of, unless `warnOfWait` is false, for a
 * caller that says it in its own warning).
 */
export async function replayPending(
  context: Context,
  given?: PendingChanges,
  { warnOfWait = true, warnOfNoRun = true } = {},
): Promise<{ applied: number; waiting: number; waitsUntil: number | null; waitsFor: string | null }> {
  const { store, reporter, out } = context;
  if (!store) return { applied: 0, waiting: 0, waitsUntil: null, waitsFor: null };
  const pending = given ?? pendingOf(context);
  let applied = 0;
  let waiting = 0;
  /** Until when a change waits for its children's (epoch ms, this machine's clock), if one does. */
  let waitsUntil: number | null = null;
  let waitsFor: string | null = null;
  let late = 0;
  /** The epic's latest run, read once there is something to apply. */
  let latest: RunState | undefined;
  let skewMs = 0;
  const kept = await keptFor(context, pending, store);
  for (const [index, { name, item }] of kept.entries()) {
    if (latest === undefined) {
      const run = await store.read();
      if (run === null) {
        // Not a refusal: the database shows this role no run of the epic (a grant revoked or not yet
        // given, another role's or database's URL, a mistyped --epic). Kept until it shows one.
        waiting = kept.length;
        if (!warnOfNoRun) break;
        out.warn(
          `${waiting} change(s) kept while the database was down wait in ${pending.dir}: ${store.database.database} shows no run of epic ${quote(store.epicId)} (check the role's grant of the run's repository, --store and --epic); they are applied once it shows the run the epic had when they were made, and set aside if its run started after them (its init came later; delete them if the epic is wrong)`,
        );
        break;
      }
      latest = run;
      skewMs = skewOf(store);
    }
    // When it was made on the database's clock (this machine's may be off): a kept change is compared with
    // the run's times (its start, its agents' last reports), which are the database's. A run that started
    // after it was made is not its run: one that replaced it (init --force), or the epic's first (the change
    // was made before any init reached the database).
    const madeAt = item.madeAt + skewMs;
    if (madeAt < Date.parse(latest.startedAt)) {
      const reason = await notItsRun(store, latest, madeAt);
      const to = pending.setAside(name, reason);
      out.warn(`a change kept while the database was down is not applied (${reason}): moved aside as ${to}`);
      continue;
    }
    try {
      if (item.change.kind === "finalize") {
        // Not skipped by its id: a finalize whose commit went through may still owe the final summary.
        // Made earlier than applied: the run records when (the end a kept agent change is measured by).
        await store.correlate(item.id, false);
        reporter.applyingKeptChange(madeAt);
        const result = await reporter.finalizeWith(item.change.summary, item.change.unread ?? 0);
        // The first finalize to reach the database ended the run: this one's summary would be dropped.
        if (result.summaryUnused) {
          const reason = finalizedBefore(reporter.executionState);
          const to = pending.setAside(name, reason);
          out.warn(
            `a finalize kept while the database was down is not applied (${reason}): moved aside as ${to}`,
          );
          continue;
        }
        out.info(
          `the finalize kept while the database was down is applied${result.posted ? `: final summary on the issue${result.finalCommentUrl ? ` ${result.finalCommentUrl}` : ""}` : ""}`,
        );
      } else {
        // A run finalized since it was made still takes it (it came before the end).
        await store.correlate(item.id, true);
        reporter.applyingKeptChange(madeAt);
        await applyAgentChange(reporter, item.change);
        if (reporter.executionState.completedAt !== null) late++;
      }
      applied++;
    } catch (error) {
      // A parent's complete made after its children's, which other machines keep: it waits for them, and
      // the changes kept after it behind it (in order), for CHILDREN_WAIT_MS from when it first waited (the
      // database answering this machine: the other machines' may answer later).
      const since = item.waitingSince ?? Date.now();
      if (error instanceof UnfinishedChildrenError && Date.now() - since < CHILDREN_WAIT_MS) {
        if (item.waitingSince === undefined) pending.markWaiting(name, item, since);
        waiting = kept.length - index;
        waitsUntil = since + CHILDREN_WAIT_MS;
        waitsFor = error.message;
        if (warnOfWait) {
          out.warn(
            `a change kept while the database was down waits (${error.message}): it and the ${waiting - 1} kept after it are applied once its children's changes are (kept on other machines), or set aside if they are not within ${CHILDREN_WAIT_MS / 60_000} minutes`,
          );
        }
        break;
      }
      // A refused change (its agent is gone) is set aside; a wrong database setting refuses nothing.
      if (error instanceof UsageError && !(error instanceof StoreConfigError)) {
        const to = pending.setAside(name, error.message);
        out.warn(
          `a change kept while the database was down cannot be applied (${error.message}): moved aside as ${to}`,
        );
        continue;
      }
      if ((error as Error).name !== "AlreadyAppliedError") throw error;
    } finally {
      reporter.applyingKeptChange(null);
    }
    pending.remove(name);
  }
  if (late > 0) {
    out.info(
      `${late} change(s) kept while the database was down applied to the run finalized since (they were made before it ended): status and the progress comment show them; the final summary stays as posted`,
    );
  }
  warnSetAside(context, pending);
  return { applied, waiting, waitsUntil, waitsFor };
}

/**
 * Why a change kept at `madeAt` (the database's clock) is not for the epic's latest run `latest`, which
 * started after it, as the database tells: the run the epic had then was replaced since, or it had none
 * (the change was made before any init of the epic reached the database).
 */
async function notItsRun(store: LazyPgStore, latest: RunState, madeAt: number): Promise<string> {
  const made = new Date(madeAt).toISOString();
  const then = await store.runAt(madeAt);
  if (then === null) {
    return `no run of epic ${quote(store.epicId)} had started when it was made (${made}): its run ${latest.runId} started after it (${latest.startedAt}: its init came later) and takes no change made before it`;
  }
  // The run that replaced it, which need not be the latest (replaced in turn, or finalized and followed).
  const next = then.replacedBy ?? { runId: latest.runId, startedAt: latest.startedAt };
  return `it belongs to a run that was replaced: run ${then.runId}, the epic's run when it was made (${made}), was replaced by run ${next.runId} (started ${next.startedAt})`;
}

/**
 * Why a kept finalize that reached a run another finalize ended (with another summary) is set aside: the
 * first finalize to reach the database ends the run, whenever the others were made.
 */
function finalizedBefore(run: RunState): string {
  const how = run.finalizeMadeAt
    ? `made ${run.finalizeMadeAt} and kept while the database did not answer too, it reached it first`
    : "given while the database answered";
  return `the run was finalized at ${run.completedAt} by another finalize (${how}): this finalize's summary is not used`;
}

/**
 * Changes this machine set aside on an earlier call (`….json.rejected`: they stay until deleted), in one
 * warning, so that a change the shared run did not take is not missed. Those this call set aside are left
 * out: it warned of each as it did.
 */
export function warnSetAside(context: Context, pending = pendingOf(context)): void {
  const names = pending.setAsideNames().filter((name) => !pending.movedAside.has(name));
  if (names.length === 0) return;
  context.out.warn(
    `${names.length} change(s) kept while the database was down were set aside, not applied (${join(pending.dir, names[0]!)}${names.length > 1 ? ", …" : ""}): each file says why; delete them once read`,
  );
}

/** How long the background writer waits for a database that does not answer (how often it asks: askAgainMs). */
const WAIT_LIMIT_MS = 10 * 60_000;
/** How long a kept parent's complete waits for its children's changes (see replayPending). */
const CHILDREN_WAIT_MS = 10 * 60_000;
/** How often a waiter marks its claim fresh, and when a claim not marked is a dead waiter's. */
const WAITER_REFRESH_MS = 2000;
const WAITER_STALE_MS = 8000;
/** How often a writer looks at another's claim. */
const WAITER_LOOK_MS = 500;

/**
 * In the background writer: when this machine keeps changes for its database and epic, waits for the
 * database (asking again after 0.5, 1, 2, 4, … s, at most 15 s apart, for up to 10 minutes) and applies
 * them. One waiter per directory, database and epic (the mkdir lock of src/store/lock.ts, touched while it
 * waits); others of the same leave it to that one ("left").
 */
export async function waitAndReplay(
  context: Context,
  sleep: (ms: number) => Promise<void>,
): Promise<"left" | undefined> {
  const { store } = context;
  if (!store) return;
  const pending = pendingOf(context);
  if ((await keptFor(context, pending, store)).length === 0) return;
  // One waiter per database and epic: the waiter of another epic (or database) kept in this directory
  // applies only its own (replayPending), so it must not keep this one from waiting.
  const target = await targetKey(store);
  if (!(await claimWaiter(pending, target, sleep))) return "left";
  // Alive, the waiter says so every WAITER_REFRESH_MS, whatever it is doing (a replay may wait 12 s for
  // an answer): a killed one's claim is stale soon, and taken over by the next writer.
  const refresh = setInterval(() => pending.touchWaiter(target), WAITER_REFRESH_MS);
  try {
    let deadline = Date.now() + WAIT_LIMIT_MS;
    // The last try comes after the deadline's sleep: a waiter never leaves right after a wait.
    for (let attempt = 0; ; attempt++) {
      let waitsUntil: number | null = null;
      try {
        const replayed = await replayPending(context, pending);
        waitsUntil = replayed.waitsUntil;
        // Done once nothing is kept: a change kept here while it applied (its writer left it to this one)
        // is applied at once when this round applied something, else after the usual wait (nothing spins on
        // a stuck file); changes that wait for the database to show the run (its role's grant revoked for
        // a while, an init not there yet) are asked for again, as when it did not answer.
        if ((await keptFor(context, pending, store)).length === 0) return;
        if (replayed.applied > 0) continue;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
      }
      const madeAts = (await keptFor(context, pending, store)).map(({ item }) => item.madeAt);
      deadline = waiterDeadline(deadline, madeAts, waitsUntil, Date.now());
      if (Date.now() >= deadline) return;
      await sleep(askAgainMs(attempt));
    }
  } finally {
    clearInterval(refresh);
    pending.releaseWaiter(target);
  }
}

/** The store's database and epic as a short hex key: one waiter, or one standby, per directory and key. */
async function targetKey(store: LazyPgStore): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256")
    .update(`${databaseOf(store)}\n${store.epicId}`)
    .digest("hex")
    .slice(0, 16);
}

/**
 * Starts a standby writer (ReporterOptions.standbyWriter) unless one of this directory, database and epic
 * runs on this machine: its lock (the waiter's mkdir lock, `<dir>/.parallel-progress/.standby-<key>.lock`)
 * is taken here, before the start, so that calls made at once start one between them; the standby keeps it
 * fresh (standBy) and removes it when it ends; one killed leaves it stale after WAITER_STALE_MS.
 */
export async function startStandby(context: Context, store: LazyPgStore): Promise<void> {
  const fs = nodeFileSystem();
  const lock = await standbyLock(context, store);
  makeFolder(fs, dirname(lock));
  if (!tryLock(fs, lock, WAITER_STALE_MS)) return; // one stands by (or is starting) already
  const pid = await context.startBackgroundWriter({ standby: true });
  if (pid === undefined) fs.rmSync(lock, { recursive: true, force: true });
}

/** In `__flush --standby`: stands by (CliReporter.standBy) holding the lock its starter took for it. */
export async function standBy(context: Context, store: LazyPgStore): Promise<void> {
  const fs = nodeFileSystem();
  const lock = await standbyLock(context, store);
  touch(fs, lock);
  const refresh = setInterval(() => touch(fs, lock), WAITER_REFRESH_MS);
  try {
    await context.reporter.standBy();
  } finally {
    clearInterval(refresh);
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function standbyLock(context: Context, store: LazyPgStore): Promise<string> {
  return join(statePaths(context.reporter.directory).dir, `.standby-${await targetKey(store)}.lock`);
}

/**
 * When the waiter leaves, given its `deadline` so far (epoch ms, this machine's clock): each change kept
 * (made at `madeAts`; one made in the future counts as made `now`) gets its own WAIT_LIMIT_MS, since one
 * kept late in this waiter's life was left to it (its own writer saw this one alive and left); and a
 * change that waits for its children's until `waitsUntil` is waited for until then (it is set aside, and
 * what was kept after it applied, at the next try after it: one ask-again wait on, with room). A time that
 * is not a number counts for nothing (files are checked when read, but a NaN deadline would keep the
 * waiter forever: every comparison with it is false). Pure; always a number when `now` is one.
 */
export function waiterDeadline(
  deadline: number,
  madeAts: readonly number[],
  waitsUntil: number | null,
  now: number,
): number {
  const made = madeAts.filter((madeAt) => Number.isFinite(madeAt));
  const newest = Math.min(now, Math.max(0, ...made));
  const children = Number.isFinite(waitsUntil) ? waitsUntil! + 2 * MAX_ASK_AGAIN_MS : 0;
  return Math.max(
    Number.isFinite(deadline) ? deadline : now,
    made.length > 0 ? newest + WAIT_LIMIT_MS : 0,
    children,
  );
}

/**
 * Claims the waiter's lock for `target` (true), or leaves the changes to the waiter holding it (false)
 * once that one is seen alive: it marks its claim again, which takes a live one WAITER_REFRESH_MS at most,
 * so a writer started beside it ends within about that. One started just after a waiter was killed (a
 * runner ending its job) sees no mark, and takes the claim over once it is stale.
 */
async function claimWaiter(
  pending: PendingChanges,
  target: string,
  sleep: (ms: number) => Promise<void>,
): Promise<boolean> {
  let seen: number | null = null;
  for (let waited = 0; waited <= WAITER_STALE_MS + WAITER_REFRESH_MS; waited += WAITER_LOOK_MS) {
    if (pending.claimWaiter(target, WAITER_STALE_MS)) return true;
    const marked = pending.waiterMarkedAt(target);
    if (seen !== null && marked !== null && marked !== seen) return false;
    seen ??= marked;
    await sleep(WAITER_LOOK_MS);
  }
  return false;
}
