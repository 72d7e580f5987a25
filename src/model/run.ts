import { UsageError } from "../errors.js";
import { assignAgentIds } from "./agent-ids.js";
import type { AgentState, AgentStatus, GitHubTarget, RunState, SyncState } from "./types.js";
import { DEFAULT_STALL_AFTER_MS, FINISHED_STATUSES, MAX_AGENT_EVENTS } from "./types.js";

/**
 * The run's state transitions: pure functions from a state and an event to the next state.
 * Each change bumps `seq`, so a body rendered from an older state can never replace a newer one.
 */

export const EMPTY_SYNC: SyncState = {
  commentId: null,
  commentUrl: null,
  viewer: null,
  postedSeq: 0,
  lastWriteAt: 0,
  lease: null,
  flusher: null,
  retryLock: null,
  settleUntil: 0,
  backoffUntil: 0,
  rateLimitedUntil: 0,
  consecutiveFailures: 0,
  finalCommentId: null,
  finalCommentUrl: null,
  lastError: null,
};

export interface NewRun {
  epicId: string;
  domains: readonly string[];
  now: number;
  github: GitHubTarget;
  stallAfterMs?: number;
  /** Random hex that makes the run id unique among runs of the same epic in the same second. */
  nonce: string;
}

export function createRun({ epicId, domains, now, github, stallAfterMs, nonce }: NewRun): RunState {
  const at = new Date(now);
  const iso = at.toISOString();
  const ids = assignAgentIds(domains, at);
  const agents: Record<string, AgentState> = {};
  domains.forEach((domain, index) => {
    const agentId = ids[index]!;
    agents[agentId] = {
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
  });
  return {
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

/** `EPIC-007-20251019T163000Z-1a2b`: names the run in the hidden marker; only [A-Za-z0-9._-]. */
export function makeRunId(epicId: string, at: Date, nonce: string): string {
  const slug = epicId.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 40) || "run";
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, "");
  return `${slug}-${stamp}Z-${nonce}`;
}

/** Finds an agent by id, else by domain (exactly, then ignoring case when that is unambiguous). */
export function findAgent(state: RunState, ref: string): AgentState {
  const byId = state.agents[ref];
  if (byId) return byId;
  const agents = Object.values(state.agents);
  const byDomain = agents.find((agent) => agent.domain === ref);
  if (byDomain) return byDomain;
  const folded = agents.filter((agent) => agent.domain.toLowerCase() === ref.toLowerCase());
  if (folded.length === 1) return folded[0]!;
  const known = agents
    .slice(0, 8)
    .map((agent) => `${agent.agentId} (${agent.domain})`)
    .join(", ");
  const more = agents.length > 8 ? `, … ${agents.length - 8} more` : "";
  throw new UsageError(
    `unknown agent "${ref}": expected an agent id or domain of run ${state.runId}: ${known}${more}`,
  );
}

export function assertActive(state: RunState | null): RunState {
  if (!state)
    throw new UsageError(
      "no run here: start one with `parallel-progress init --epic <id> --domains <a,b,c>`",
    );
  if (state.completedAt) {
    throw new UsageError(
      `run ${state.runId} was finalized at ${state.completedAt}: start a new one with \`parallel-progress init\``,
    );
  }
  return state;
}

function withAgent(state: RunState, agent: AgentState, event: string): RunState {
  return { ...state, seq: state.seq + 1, event, agents: { ...state.agents, [agent.agentId]: agent } };
}

function finishedAt(agent: AgentState, status: AgentStatus, iso: string): string | null {
  if (!FINISHED_STATUSES.includes(status)) return null;
  return agent.status === status && agent.finishedAt ? agent.finishedAt : iso;
}

export function applyProgress(
  state: RunState,
  ref: string,
  update: { status: AgentStatus; filesCompleted?: number | undefined; filesTotal?: number | undefined },
  now: number,
): RunState {
  const agent = findAgent(state, ref);
  // Counts not given stay as they are (read here, inside the caller's transaction, so none is lost).
  const { status, filesCompleted = agent.filesCompleted, filesTotal = agent.filesTotal } = update;
  if (!Number.isSafeInteger(filesCompleted) || !Number.isSafeInteger(filesTotal) || filesCompleted < 0) {
    throw new UsageError(`files must be whole numbers ≥ 0, got ${filesCompleted}/${filesTotal}`);
  }
  if (filesCompleted > filesTotal) {
    throw new UsageError(
      `files done (${filesCompleted}) cannot exceed the total (${filesTotal}) for ${agent.agentId}`,
    );
  }
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status,
    filesCompleted,
    filesTotal,
    startedAt: agent.startedAt ?? (status === "pending" ? null : iso),
    updatedAt: iso,
    finishedAt: finishedAt(agent, status, iso),
    error: status === "failed" || status === "cancelled" ? agent.error : null,
  };
  const verb = status === "completed" ? "completed" : status === "failed" ? "failed" : "progress updated";
  return withAgent(state, next, `Agent ${agent.agentId} ${verb}`);
}

export function applyComplete(state: RunState, ref: string, summary: string | null, now: number): RunState {
  const agent = findAgent(state, ref);
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status: "completed",
    filesCompleted: agent.filesTotal,
    startedAt: agent.startedAt ?? iso,
    updatedAt: iso,
    finishedAt: finishedAt(agent, "completed", iso),
    summary: summary ?? agent.summary,
    error: null,
  };
  return withAgent(state, next, `Agent ${agent.agentId} completed`);
}

export function applyFail(state: RunState, ref: string, error: string, now: number): RunState {
  const agent = findAgent(state, ref);
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status: "failed",
    startedAt: agent.startedAt ?? iso,
    updatedAt: iso,
    finishedAt: finishedAt(agent, "failed", iso),
    error,
  };
  return withAgent(state, next, `Agent ${agent.agentId} failed`);
}

export function applyCancel(state: RunState, ref: string, reason: string | null, now: number): RunState {
  const agent = findAgent(state, ref);
  const iso = new Date(now).toISOString();
  const next: AgentState = {
    ...agent,
    status: "cancelled",
    updatedAt: iso,
    finishedAt: finishedAt(agent, "cancelled", iso),
    error: reason,
  };
  return withAgent(state, next, `Agent ${agent.agentId} cancelled`);
}

/** Adds an event to the agent's log (the newest MAX_AGENT_EVENTS are kept); the event line stays. */
export function applyLog(state: RunState, ref: string, message: string, now: number): RunState {
  const agent = findAgent(state, ref);
  const iso = new Date(now).toISOString();
  const events = [...agent.events, { at: iso, message }].slice(-MAX_AGENT_EVENTS);
  return withAgent(state, { ...agent, updatedAt: iso, events }, state.event);
}

export function applyFinalize(state: RunState, mergeSummary: string, now: number): RunState {
  return {
    ...state,
    seq: state.seq + 1,
    event: "Parallel execution completed",
    completedAt: new Date(now).toISOString(),
    mergeSummary,
  };
}
