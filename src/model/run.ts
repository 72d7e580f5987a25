import { quote, shownName } from "../config/show-value.js";
import { UnfinishedChildrenError, UsageError } from "../errors.js";
import { assignAgentIds } from "./agent-ids.js";
import { keptText } from "./agent-text.js";
import { checkMetrics, withMetrics } from "./metrics.js";
import { ancestorIds, childrenByParent, depthOf, descendantIds, MAX_DEPTH } from "./tree.js";
import type { AgentMetrics, AgentState, AgentStatus, GitHubTarget, RunState, SyncState } from "./types.js";
import { DEFAULT_STALL_AFTER_MS, FINISHED_STATUSES, MAX_AGENT_EVENTS } from "./types.js";

/**
 * The run's state transitions: pure functions from a state and an event to the next state.
 * Each change bumps `seq`, so a body rendered from an older state can never replace a newer one.
 */

export const EMPTY_SYNC: SyncState = {
  commentId: null,
  commentUrl: null,
  viewer: null,
  viewerId: null,
  postedSeq: 0,
  lastWriteAt: 0,
  lease: null,
  flusher: null,
  retryLock: null,
  settleUntil: 0,
  unsureCreate: null,
  backoffUntil: 0,
  rateLimitedUntil: 0,
  writeBudget: null,
  consecutiveFailures: 0,
  finalCommentId: null,
  finalCommentUrl: null,
  lastError: null,
};

interface NewRun {
  epicId: string;
  domains: readonly string[];
  now: number;
  github: GitHubTarget;
  stallAfterMs?: number;
  /** The run's budget in US dollars (`init --max-cost`). */
  maxCostUsd?: number;
  /** Random hex that makes the run id unique among runs of the same epic in the same second. */
  nonce: string;
  /**
   * The run this one replaces (the directory's, or the epic's latest in the database): none of its agent
   * ids is given again, even within the same second (see assignAgentIds and idsToAvoid), nor taken as a
   * domain (refuseReplacedIds).
   */
  replaced?: RunState | null;
}

function newAgent(agentId: string, domain: string, iso: string): AgentState {
  return {
    agentId,
    domain,
    status: "pending",
    filesCompleted: 0,
    filesTotal: 0,
    startedAt: null,
    updatedAt: iso,
    finishedAt: null,
    summary: null,
    error: null,
    events: [],
  };
}

export function createRun({
  epicId,
  domains,
  now,
  github,
  stallAfterMs,
  maxCostUsd,
  nonce,
  replaced = null,
}: NewRun): RunState {
  const at = new Date(now);
  const iso = at.toISOString();
  if (replaced) refuseReplacedIds(replaced, domains, iso);
  const replacedAgentIds = replaced ? idsToAvoid(replaced, iso) : [];
  const ids = assignAgentIds(domains, at, replacedAgentIds);
  const agents: Record<string, AgentState> = {};
  domains.forEach((domain, index) => {
    const agentId = ids[index]!;
    agents[agentId] = newAgent(agentId, domain, iso);
  });
  return {
    ...(maxCostUsd === undefined ? {} : { maxCostUsd }),
    ...(replacedAgentIds.length === 0 ? {} : { replacedAgentIds }),
    version: 1,
    runId: makeRunId(epicId, at, nonce),
    epicId,
    startedAt: iso,
    completedAt: null,
    seq: 1,
    event: "Parallel execution initialized",
    agents,
    mergeSummary: null,
    stallAfterMs: stallAfterMs ?? DEFAULT_STALL_AFTER_MS,
    github,
    sync: { ...EMPTY_SYNC },
  };
}

/**
 * The ids a new run started at `iso` gives none of, and keeps (`replacedAgentIds`) for the agents added to
 * it later: those of the run it replaces, and those that run kept if it started in the same second (runs
 * replacing one another within one second: the third must not give the first's ids either). Ids kept from
 * an earlier second are left, so that the list does not grow with every run: they name an earlier time of
 * day than this run's ids can, for a day.
 */
function idsToAvoid(replaced: RunState, iso: string): string[] {
  const sameSecond = replaced.startedAt.slice(0, 19) === iso.slice(0, 19);
  const kept = sameSecond ? (replaced.replacedAgentIds ?? []) : [];
  return [...new Set([...Object.keys(replaced.agents), ...kept])];
}

const NOT_AN_OLD_ID =
  "a domain may not be such an id (that agent, still reporting by it, would change this run's agent); choose another domain";

/**
 * Refuses (UsageError) a domain of a new run started at `iso` that is an id of the run it replaces (or one
 * that run kept, see idsToAvoid): that run's agent, still reporting by its id, would change this run's.
 */
export function refuseReplacedIds(replaced: RunState, domains: readonly string[], iso: string): void {
  const ids = new Set(idsToAvoid(replaced, iso));
  const domain = domains.find((name) => ids.has(name));
  if (domain === undefined) return;
  const old = Object.hasOwn(replaced.agents, domain) ? replaced.agents[domain] : undefined;
  const whose = old
    ? `agent ${describeAgent(old)} of run ${replaced.runId}, which this run replaces`
    : `an agent of a run that run ${replaced.runId} (which this run replaces) replaced in the same second`;
  throw new UsageError(`domain ${quote(domain)} is the id of ${whose}: ${NOT_AN_OLD_ID}`);
}

/** `EPIC-007-20251019T163000Z-1a2b3c4d`: names the run in the hidden marker; only [A-Za-z0-9._-]. */
export function makeRunId(epicId: string, at: Date, nonce: string): string {
  const slug = epicId.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 40) || "run";
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, "");
  return `${slug}-${stamp}Z-${nonce}`;
}

/**
 * The agent a name given by the caller means, by one rule:
 *   1. an agent id, exactly;
 *   2. else a domain, exactly;
 *   3. else a domain ignoring case.
 * A name that is one agent's id and another agent's domain (a run of an earlier release: ids and domains
 * no longer meet, see assignAgentIds and applyAdd), or that matches several domains ignoring case, is
 * ambiguous and refused, listing the candidates; so is a name that matches nothing.
 */
export function findAgent(state: RunState, ref: string): AgentState {
  const agents = Object.values(state.agents);
  // Own keys only: `toString`, `constructor` or `__proto__` name no agent (Object.prototype's are not ids).
  const byId = Object.hasOwn(state.agents, ref) ? state.agents[ref] : undefined;
  // One form of accented letters (macOS gives `é` as e + U+0301, others as one letter): a run of an
  // earlier release may hold either.
  const exact = ref.normalize("NFC");
  const byDomain = agents.find((agent) => agent.domain.normalize("NFC") === exact);
  if (byId && byDomain && byId !== byDomain) {
    throw new UsageError(
      `agent ${quote(ref)} is ambiguous: it is the id of ${describeAgent(byId)} and the domain of ${describeAgent(byDomain)}: give ${byDomain.agentId} for the latter, or the domain ${quote(byId.domain)} for the former`,
    );
  }
  const found = byId ?? byDomain;
  if (found) return found;
  const folded = agents.filter(
    (agent) => agent.domain.normalize("NFC").toLowerCase() === exact.toLowerCase(),
  );
  if (folded.length === 1) return folded[0]!;
  if (folded.length > 1) {
    throw new UsageError(
      `agent ${quote(ref)} is ambiguous: it matches the domains of ${listAgents(folded)} ignoring case: give the agent id or the exact domain`,
    );
  }
  throw new UsageError(
    `unknown agent ${quote(ref)}: expected an agent id or domain of run ${state.runId}: ${listAgents(agents)}`,
  );
}

/** `id (domain)`, the domain shortened as any name a message shows (a domain may be 10,000 characters). */
const describeAgent = (agent: AgentState) => `${agent.agentId} (${shownName(agent.domain)})`;

/** The first few agents as `id (domain)`, and how many more. */
function listAgents(agents: readonly AgentState[]): string {
  const shown = agents.slice(0, 8).map(describeAgent).join(", ");
  return agents.length > 8 ? `${shown}, … ${agents.length - 8} more` : shown;
}

/**
 * Where a run was looked for, for messages: an epic directory, or a database store's epic (`database`:
 * its URL without the password).
 */
export type RunPlace = string | { database: string; epicId: string };

/** There is no run where it was looked for: a UsageError that names the place (the directory, or the epic and database). */
export function noRunError(where?: RunPlace): UsageError {
  if (typeof where === "object") {
    return new UsageError(
      `no run of epic ${quote(where.epicId)} in ${where.database}: start one with \`parallel-progress init --epic <id> --domains <a,b,c>\`, or check --epic and --store`,
    );
  }
  return new UsageError(
    `no run here${where === undefined ? "" : ` (${where})`}: start one with \`parallel-progress init --epic <id> --domains <a,b,c>\`, or pass --dir`,
  );
}

/** The active run; a UsageError when there is none (`where`: where it was looked for, named in the message). */
export function assertActive(state: RunState | null, where?: RunPlace): RunState {
  if (!state) throw noRunError(where);
  if (state.completedAt) {
    throw new UsageError(
      `run ${state.runId} was finalized at ${state.completedAt}: start a new one with \`parallel-progress init\``,
    );
  }
  return state;
}

/**
 * The agent replaced, then its ancestors brought up to date in the same change: a parent's files are its
 * children's sums, it was active when they were (`updatedAt`), and a pending parent is in progress once
 * one of its children has started (left `pending`, not cancelled before it began).
 */
function withAgent(state: RunState, agent: AgentState, event: string, iso: string): RunState {
  const agents = { ...state.agents, [agent.agentId]: agent };
  const ancestors = ancestorIds(agents, agent.agentId);
  if (ancestors.length > 0) {
    const children = childrenByParent(Object.values(agents));
    for (const id of ancestors) {
      const parent = agents[id]!;
      // Children read from `agents`: an ancestor nearer the child was just updated there.
      const kids = (children.get(id) ?? []).map((kid) => agents[kid.agentId]!);
      const starts = kids.flatMap((kid) => (kid.startedAt === null ? [] : [kid.startedAt]));
      const started = parent.status === "pending" && starts.length > 0;
      // A parent started when its first child did (a child timed from before this change: startedOn).
      const firstStart = starts.reduce((first, at) => (Date.parse(at) < Date.parse(first) ? at : first), iso);
      agents[id] = {
        ...parent,
        filesCompleted: kids.reduce((sum, kid) => sum + kid.filesCompleted, 0),
        filesTotal: kids.reduce((sum, kid) => sum + kid.filesTotal, 0),
        updatedAt: iso,
        ...(started ? { status: "in_progress" as const, startedAt: parent.startedAt ?? firstStart } : {}),
      };
    }
  }
  return { ...state, seq: state.seq + 1, event, agents };
}

/** The run's event line for a change that left agent `agentId` in `status`. */
export function agentEvent(agentId: string, status: AgentStatus): string {
  const finished = status === "completed" || status === "failed" || status === "cancelled";
  return `Agent ${agentId} ${finished ? status : "progress updated"}`;
}

/** Whether one of `agentId`'s children has started (left pending, not cancelled before it began). */
const childStarted = (state: RunState, agentId: string) =>
  Object.values(state.agents).some(
    (agent) => (agent.parentId ?? null) === agentId && agent.startedAt !== null,
  );

export const hasChildren = (state: RunState, agentId: string) =>
  Object.values(state.agents).some((agent) => (agent.parentId ?? null) === agentId);

/** A parent can be completed only once all its descendants are finished (else its work is not done). */
function assertChildrenFinished(state: RunState, agent: AgentState): void {
  const open = descendantIds(Object.values(state.agents), agent.agentId).filter((id) => {
    const status = state.agents[id]!.status;
    return status === "pending" || status === "in_progress";
  });
  if (open.length === 0) return;
  const list = open.slice(0, 5).join(", ") + (open.length > 5 ? `, … ${open.length - 5} more` : "");
  throw new UnfinishedChildrenError(
    `${agent.agentId} cannot be completed while its children are unfinished: ${list} (complete, fail or cancel them first)`,
  );
}

/**
 * A finished agent may report progress again (reopened), but not below a completed ancestor: that
 * ancestor was completed because everything below it was finished, and would show ✅ over running work.
 */
function assertReopenable(state: RunState, agent: AgentState, status: AgentStatus): void {
  if (!FINISHED_STATUSES.includes(agent.status) || FINISHED_STATUSES.includes(status)) return;
  const ancestors = ancestorIds(state.agents, agent.agentId);
  const completed = ancestors.find((id) => state.agents[id]!.status === "completed");
  if (completed === undefined) return;
  // The nearest completed ancestor: the parent itself, or one further up (`above its parent …`).
  const which =
    completed === ancestors[0]
      ? `its parent ${completed}`
      : `its ancestor ${completed} (above its parent ${ancestors[0]})`;
  throw new UsageError(
    `${agent.agentId} cannot be reopened: it is ${agent.status} and ${which} is completed (report ${status} on a new agent instead, or fail ${completed} first)`,
  );
}

/**
 * Adds agents to an active run, at the top level or under `parentRef`. Refused (state untouched) for a
 * domain already in the run or equal to an agent's id (of this run, or one it keeps of the run it
 * replaced), a finished parent, a parent that reports files of its own (its files must be its children's
 * sums), and nesting deeper than MAX_DEPTH. Agents are never moved, so there are no cycles.
 */
export function applyAdd(
  state: RunState,
  domains: readonly string[],
  parentRef: string | null,
  now: number,
): { state: RunState; added: AgentState[] } {
  if (domains.length === 0) throw new UsageError("at least one domain is required to add agents");
  const existing = Object.values(state.agents);
  const oldIds = new Set(state.replacedAgentIds);
  for (const domain of domains) {
    const clash = existing.find((agent) => agent.domain === domain);
    if (clash) {
      throw new UsageError(
        `domain ${quote(domain)} is already in run ${state.runId} (agent ${clash.agentId}): domains are unique in a run`,
      );
    }
    // An agent that reports by its id would be refused from then on, its id ambiguous (findAgent).
    const holder = Object.hasOwn(state.agents, domain) ? state.agents[domain] : undefined;
    if (holder) {
      throw new UsageError(
        `domain ${quote(domain)} is the id of agent ${describeAgent(holder)} in run ${state.runId}: a domain may not be another agent's id (that agent could no longer be named by it); choose another domain`,
      );
    }
    if (oldIds.has(domain)) {
      throw new UsageError(
        `domain ${quote(domain)} is the id of an agent of a run that run ${state.runId} replaced: ${NOT_AN_OLD_ID}`,
      );
    }
  }
  const parent = parentRef === null ? null : findAgent(state, parentRef);
  if (parent) {
    if (FINISHED_STATUSES.includes(parent.status)) {
      throw new UsageError(`cannot add agents under ${parent.agentId}: it is already ${parent.status}`);
    }
    if (!hasChildren(state, parent.agentId) && parent.filesTotal > 0) {
      throw new UsageError(
        `cannot add agents under ${parent.agentId}: it reports files of its own (${parent.filesCompleted}/${parent.filesTotal}), and a parent's files are its children's sums; add its own work as a child instead`,
      );
    }
    const depth = depthOf(state.agents, parent.agentId) + 1;
    if (depth > MAX_DEPTH) {
      throw new UsageError(
        `cannot add agents under ${parent.agentId}: agents nest at most ${MAX_DEPTH} levels deep`,
      );
    }
  }
  const at = new Date(now);
  const iso = at.toISOString();
  // Nor an id of the run this one replaced: an agent of that run still reporting by it would change this
  // run's agent (an add in the same second as the init --force).
  const ids = assignAgentIds(
    domains,
    at,
    [...Object.keys(state.agents), ...(state.replacedAgentIds ?? [])],
    existing.map((agent) => agent.domain),
  );
  const added = domains.map((domain, index) => ({
    ...newAgent(ids[index]!, domain, iso),
    ...(parent ? { parentId: parent.agentId } : {}),
  }));
  const where = parent ? ` under ${parent.agentId}` : "";
  const event =
    added.length === 1 ? `Agent ${added[0]!.agentId} added${where}` : `${added.length} agents added${where}`;
  const agents = { ...state.agents };
  for (const agent of added) agents[agent.agentId] = agent;
  // withAgent brings the parent's sums and activity up to date, in the same change.
  return { state: withAgent({ ...state, agents }, added[0]!, event, iso), added };
}

function finishedAt(agent: AgentState, status: AgentStatus, iso: string): string | null {
  if (!FINISHED_STATUSES.includes(status)) return null;
  return agent.status === status && agent.finishedAt ? agent.finishedAt : iso;
}

export function applyProgress(
  state: RunState,
  ref: string,
  update: {
    status: AgentStatus;
    filesCompleted?: number | undefined;
    filesTotal?: number | undefined;
    metrics?: AgentMetrics | undefined;
  },
  now: number,
): RunState {
  const agent = findAgent(state, ref);
  assertNotCancelled(agent, "update");
  const parent = hasChildren(state, agent.agentId);
  if (parent && (update.filesCompleted !== undefined || update.filesTotal !== undefined)) {
    throw new UsageError(
      `${agent.agentId} has children: its files are the sum of theirs (${agent.filesCompleted}/${agent.filesTotal}); report files on the children`,
    );
  }
  if (parent && update.status === "completed") assertChildrenFinished(state, agent);
  assertReopenable(state, agent, update.status);
  if (update.metrics) checkMetrics(update.metrics);
  // Counts not given stay as they are (read here, inside the caller's transaction, so none is lost);
  // completed means every file done, as `complete` makes it, except for a parent: its files stay its
  // children's sums (a failed child's files stay undone).
  const { filesTotal = agent.filesTotal } = update;
  // A parent one of whose children has started is in progress (withAgent's rule), even reported pending.
  const status =
    update.status === "pending" && parent && childStarted(state, agent.agentId)
      ? "in_progress"
      : update.status;
  const filesCompleted =
    update.filesCompleted ?? (status === "completed" && !parent ? filesTotal : agent.filesCompleted);
  if (!Number.isSafeInteger(filesCompleted) || !Number.isSafeInteger(filesTotal) || filesCompleted < 0) {
    throw new UsageError(`files must be whole numbers ≥ 0, got ${filesCompleted}/${filesTotal}`);
  }
  if (filesCompleted > filesTotal) {
    throw new UsageError(
      `files done (${filesCompleted}) cannot exceed the total (${filesTotal}) for ${agent.agentId}`,
    );
  }
  if (status === "completed" && !parent && filesCompleted !== filesTotal) {
    throw new UsageError(
      `a completed agent has every file done: files ${filesCompleted}/${filesTotal} given for ${agent.agentId}; give ${filesTotal}/${filesTotal}, or no files, or use \`complete\``,
    );
  }
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...(update.metrics ? withMetrics(agent, update.metrics) : agent),
    status,
    filesCompleted,
    filesTotal,
    startedAt: startedOn(agent, status, iso),
    updatedAt: iso,
    finishedAt: finishedAt(agent, status, iso),
    error: status === "failed" || status === "cancelled" ? agent.error : null,
  };
  return withAgent(state, next, agentEvent(agent.agentId, status), iso);
}

/**
 * When an agent started, once it has: when it first left pending. One that goes straight from pending to
 * completed or failed worked unseen since it was last heard of as pending (a log, its creation): it is
 * counted from then, not as taking no time.
 */
function startedOn(agent: AgentState, status: AgentStatus, iso: string): string | null {
  if (agent.startedAt !== null) return agent.startedAt;
  if (status === "pending") return null;
  return status === "in_progress" ? iso : agent.updatedAt;
}

/**
 * The agent `ref` names, with the metrics given to complete, fail or cancel (its last cost, iteration or
 * criteria) applied; checked first, so a bad one changes nothing.
 */
function finishing(
  state: RunState,
  ref: string,
  metrics: AgentMetrics | undefined,
  as: AgentStatus,
): AgentState {
  if (metrics) checkMetrics(metrics);
  const agent = findAgent(state, ref);
  if (as !== "cancelled") assertNotCancelled(agent, as === "completed" ? "complete" : "fail");
  return metrics ? withMetrics(agent, metrics) : agent;
}

/**
 * A cancelled agent does no more work: it takes no update, complete or fail (cancelling it again, with
 * a new reason or cost, is allowed). More work is a new agent's.
 */
function assertNotCancelled(agent: AgentState, what: "update" | "complete" | "fail"): void {
  if (agent.status !== "cancelled") return;
  throw new UsageError(
    `${agent.agentId} was cancelled and takes no ${what}: a cancelled agent does no more work (add a new agent for it)`,
  );
}

export function applyComplete(
  state: RunState,
  ref: string,
  summary: string | null,
  now: number,
  metrics?: AgentMetrics,
): RunState {
  const agent = finishing(state, ref, metrics, "completed");
  const parent = hasChildren(state, agent.agentId);
  if (parent) assertChildrenFinished(state, agent);
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status: "completed",
    // A parent's files stay its children's sums (a failed child's undone files stay undone).
    filesCompleted: parent ? agent.filesCompleted : agent.filesTotal,
    startedAt: startedOn(agent, "completed", iso),
    updatedAt: iso,
    finishedAt: finishedAt(agent, "completed", iso),
    summary: summary === null ? agent.summary : keptText(summary),
    error: null,
  };
  return withAgent(state, next, agentEvent(agent.agentId, "completed"), iso);
}

export function applyFail(
  state: RunState,
  ref: string,
  error: string,
  now: number,
  metrics?: AgentMetrics,
): RunState {
  const agent = finishing(state, ref, metrics, "failed");
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status: "failed",
    startedAt: startedOn(agent, "failed", iso),
    updatedAt: iso,
    finishedAt: finishedAt(agent, "failed", iso),
    error: keptText(error),
  };
  return withAgent(state, next, agentEvent(agent.agentId, "failed"), iso);
}

export function applyCancel(
  state: RunState,
  ref: string,
  reason: string | null,
  now: number,
  metrics?: AgentMetrics,
): RunState {
  const agent = finishing(state, ref, metrics, "cancelled");
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status: "cancelled",
    updatedAt: iso,
    finishedAt: finishedAt(agent, "cancelled", iso),
    // A cancel without a reason (its cost only) keeps the one given before: a first cancel's, a failure's.
    error: reason !== null ? keptText(reason) : agent.error,
  };
  return withAgent(state, next, agentEvent(agent.agentId, "cancelled"), iso);
}

/**
 * Adds an event to the agent's log (the newest MAX_AGENT_EVENTS are kept), and to its ancestors' logs
 * marked with the agent's id; the event line stays. Agent text (the message, a summary, an error, a
 * reason) is kept as keptText keeps it.
 */
export function applyLog(state: RunState, ref: string, message: string, now: number): RunState {
  const agent = findAgent(state, ref);
  const iso = new Date(now).toISOString();
  const kept = keptText(message);
  const events = [...(agent.events ?? []), { at: iso, message: kept }].slice(-MAX_AGENT_EVENTS);
  const next = withAgent(state, { ...agent, updatedAt: iso, events }, state.event, iso);
  for (const id of ancestorIds(next.agents, agent.agentId)) {
    const ancestor = next.agents[id]!;
    const logged = { at: iso, message: kept, agentId: agent.agentId };
    next.agents[id] = { ...ancestor, events: [...(ancestor.events ?? []), logged].slice(-MAX_AGENT_EVENTS) };
  }
  return next;
}

/** Closes a run that another run of its epic replaces before it was finalized (`init --force`). */
export function applyAbandon(state: RunState, now: number): RunState {
  const iso = new Date(now).toISOString();
  return {
    ...state,
    seq: state.seq + 1,
    event: "Run abandoned: a new run of the epic was started (init --force)",
    completedAt: iso,
    abandonedAt: iso,
  };
}

/** The run finalized with `mergeSummary` as kept, `mergeSummaryCut` characters of it not kept. */
export function applyFinalize(
  state: RunState,
  mergeSummary: string,
  now: number,
  mergeSummaryCut = 0,
): RunState {
  return {
    ...state,
    seq: state.seq + 1,
    event: "Parallel execution completed",
    completedAt: new Date(now).toISOString(),
    mergeSummary,
    ...(mergeSummaryCut > 0 ? { mergeSummaryCut } : {}),
  };
}
