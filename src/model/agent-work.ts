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
 * When an agent worked, epoch ms, as the final summary's agent durations, its timeline and `history` all
 * tell it (`start` null: it did not start): from when it left pending (an agent completed or failed without
 * a start on record: from the run's start) to when it finished, or, still unfinished, to the run's end. A
 * time that does not parse counts as none. Pure.
 */
export function agentSpan(
  agent: AgentState,
  run: RunSpan,
): { start: number | null; end: number; unfinished: boolean } {
  const parsed = (iso: string | null) => {
    const ms = iso === null ? Number.NaN : Date.parse(iso);
    return Number.isNaN(ms) ? null : ms;
  };
  const worked = agent.status === "completed" || agent.status === "failed";
  const start = parsed(agent.startedAt) ?? (worked ? run.startedAt : null);
  const unfinished = !FINISHED_STATUSES.includes(agent.status);
  const end = unfinished ? run.endedAt : (parsed(agent.finishedAt ?? agent.updatedAt) ?? run.endedAt);
  return { start, end, unfinished };
}

/** How long an agent worked (agentSpan); null: it did not start. */
export function agentWork(agent: AgentState, run: RunSpan): AgentWork | null {
  const { start, end, unfinished } = agentSpan(agent, run);
  return start === null ? null : { ms: Math.max(0, end - start), unfinished };
}
