import { type AgentState, FINISHED_STATUSES } from "./types.js";

/** The run's span, epoch ms; `endedAt` measures the agents still unfinished at the end. */
export interface RunSpan {
  startedAt: number;
  endedAt: number;
}

/** How long an agent worked; `unfinished` when it had not finished by the run's end. */
export interface AgentWork {
  ms: number;
  unfinished: boolean;
}

/**
 * How long an agent worked, as the final summary's agent durations and `history` both tell it (null: it
 * did not start). From when it left pending (an agent completed or failed without a start on record: from
 * the run's start) to when it finished, or, still unfinished, to the run's end. Pure.
 */
export function agentWork(agent: AgentState, run: RunSpan): AgentWork | null {
  const worked = agent.status === "completed" || agent.status === "failed";
  const started = agent.startedAt === null ? (worked ? run.startedAt : null) : Date.parse(agent.startedAt);
  if (started === null) return null;
  const unfinished = !FINISHED_STATUSES.includes(agent.status);
  const ended = unfinished ? run.endedAt : Date.parse(agent.finishedAt ?? agent.updatedAt);
  return { ms: Math.max(0, ended - started), unfinished };
}
