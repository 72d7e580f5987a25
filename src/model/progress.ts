import { leafAgents } from "./tree.js";
import type { AgentState, AgentStatus, AgentView } from "./types.js";

/**
 * Progress arithmetic shared by the comment, the terminal table and `status --json`. Pure.
 */

/**
 * Integer percent of `done` out of `total`: the exact rational rounded half to even (3/7 → 43, 3/16 → 19,
 * 10/16 → 62, 1/8 → 12), then clamped so that 100 means everything is done and 0 means nothing is
 * (199/200 → 99, 1/1000 → 1). 0/0, negative or non-finite input → 0; done ≥ total > 0 → 100.
 */
export function percent(done: number, total: number): number {
  if (!Number.isFinite(done) || !Number.isFinite(total) || total <= 0 || done <= 0) return 0;
  if (done >= total) return 100;
  return Math.min(99, Math.max(1, halfEvenPercent(done, total)));
}

/**
 * `done` of `total` (over 0) in percent, the exact rational rounded half to even: twice the remainder
 * against the divisor decides, in doubles while `done` × 100 and `total` are below 2^53, else in BigInt
 * (a budget past 90 million dollars counted in millionths: doubles lost the half there).
 */
export function halfEvenPercent(done: number, total: number): number {
  if (done * 100 <= Number.MAX_SAFE_INTEGER && total <= Number.MAX_SAFE_INTEGER) {
    const scaled = done * 100;
    const floor = Math.floor(scaled / total);
    const twiceRemainder = 2 * (scaled - floor * total);
    return twiceRemainder > total || (twiceRemainder === total && floor % 2 === 1) ? floor + 1 : floor;
  }
  const scaled = BigInt(Math.round(done)) * 100n;
  const divisor = BigInt(Math.round(total));
  const floor = scaled / divisor;
  const twiceRemainder = 2n * (scaled - floor * divisor);
  const up = twiceRemainder > divisor || (twiceRemainder === divisor && floor % 2n === 1n);
  return Number(up ? floor + 1n : floor);
}

/**
 * An agent's percent of its files; a completed agent without files counts as done. 100 means done, as
 * for the overall: a pending or running agent with every file it counts done (5/5, more may come) is at 99,
 * and so is a parent with a child still pending or running (`openBelow`: a failed or cancelled parent's
 * children go on).
 */
export function agentProgress(agent: AgentState, openBelow: boolean): number {
  if (agent.status === "completed" && agent.filesTotal === 0) return 100;
  const progress = percent(agent.filesCompleted, agent.filesTotal);
  return progress === 100 && (isWorking(agent) || openBelow) ? 99 : progress;
}

/**
 * The agents with a descendant still pending or running (see agentProgress's `openBelow`). Each walk up
 * stops at an ancestor already marked (its own ancestors are), so a long chain is walked once.
 */
export function withOpenDescendants(agents: Readonly<Record<string, AgentState>>): Set<string> {
  const open = new Set<string>();
  for (const agent of Object.values(agents)) {
    if (!isWorking(agent)) continue;
    let parent = agent.parentId ?? null;
    // A hand-edited cycle ends the walk where it comes back.
    while (
      parent !== null &&
      parent !== agent.agentId &&
      !open.has(parent) &&
      Object.hasOwn(agents, parent)
    ) {
      open.add(parent);
      parent = agents[parent]!.parentId ?? null;
    }
  }
  return open;
}

function isWorking(agent: AgentState): boolean {
  return agent.status === "pending" || agent.status === "in_progress";
}

interface OverallProgress {
  filesCompleted: number;
  filesTotal: number;
  progress: number;
}

/**
 * Files summed over the agents without children (a parent's files are its children's sums, so each file
 * counts once). Without any files: 100 once every agent (at least one) completed, else 0.
 * 100 means everything is done: while an agent is still pending or running (its files perhaps not
 * counted yet), the overall stays at 99 even if every file counted so far is done.
 */
export function overallProgress(agents: readonly AgentState[]): OverallProgress {
  let filesCompleted = 0;
  let filesTotal = 0;
  for (const agent of leafAgents(agents)) {
    filesCompleted += agent.filesCompleted;
    filesTotal += agent.filesTotal;
  }
  const progress =
    filesTotal === 0
      ? agents.length > 0 && agents.every((agent) => agent.status === "completed")
        ? 100
        : 0
      : percent(filesCompleted, filesTotal);
  const working = agents.some(isWorking);
  return { filesCompleted, filesTotal, progress: progress === 100 && working ? 99 : progress };
}

type StatusCounts = Record<AgentStatus, number>;

export function statusCounts(agents: readonly AgentState[]): StatusCounts {
  const counts: StatusCounts = { pending: 0, in_progress: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const agent of agents) counts[agent.status] += 1;
  return counts;
}

/**
 * `X pending, Y running, Z completed, W failed`, plus `, V cancelled` and `, S stalled` only when some
 * are. Stalled agents are also counted in their own status (pending or running): `stalled` is a mark on
 * top of the status, not a status.
 */
export function formatStatusCounts(counts: StatusCounts, stalled = 0): string {
  let text = `${counts.pending} pending, ${counts.in_progress} running, ${counts.completed} completed, ${counts.failed} failed`;
  if (counts.cancelled > 0) text += `, ${counts.cancelled} cancelled`;
  if (stalled > 0) text += `, ${stalled} stalled`;
  return text;
}

/** `openBelow`: the agent has a descendant still pending or running (withOpenDescendants). */
export function toAgentView(agent: AgentState, openBelow: boolean): AgentView {
  return {
    agentId: agent.agentId,
    domain: agent.domain,
    status: agent.status,
    filesCompleted: agent.filesCompleted,
    filesTotal: agent.filesTotal,
    progress: agentProgress(agent, openBelow),
    parentId: agent.parentId ?? null,
    iteration: agent.iteration ?? null,
    maxIterations: agent.maxIterations ?? null,
    criteriaVerified: agent.criteriaVerified ?? null,
    criteriaTotal: agent.criteriaTotal ?? null,
    costUsd: agent.costUsd ?? null,
  };
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A sorted copy: by domain (plain code-unit order, no locale), then agent id. Stable. */
export function sortByDomain<T extends Pick<AgentState, "domain" | "agentId">>(agents: readonly T[]): T[] {
  return [...agents].sort(
    (a, b) => compareCodeUnits(a.domain, b.domain) || compareCodeUnits(a.agentId, b.agentId),
  );
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

/**
 * A duration for people: "0 seconds", "1 second", "45 seconds", "12 minutes" (seconds dropped from a
 * minute on), "1 hour 5 minutes", "2 hours". Always rounded down; negative or non-finite → "0 seconds".
 */
export function formatDuration(ms: number): string {
  const seconds = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  if (seconds < 60) return plural(seconds, "second");
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return plural(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? plural(hours, "hour") : `${plural(hours, "hour")} ${plural(rest, "minute")}`;
}
