import { EMPTY_SYNC } from "../../src/model/run.js";
import type { AgentState, AgentStatus, GitHubTarget, RunState } from "../../src/model/types.js";

/** Runs and agents for the rendering tests: the guide's run, started 2025-10-19 16:30:00 UTC. */

export const STARTED = "2025-10-19T16:30:00.000Z";

/** `16:31:05` → the ISO time of that moment on the run's day. */
export const at = (time: string): string => `2025-10-19T${time}.000Z`;
export const ms = (time: string): number => Date.parse(at(time));

/** The run's GitHub settings in the guide's examples: acme/widgets#123 on api.github.com. */
export const GITHUB_TARGET: GitHubTarget = {
  issueNumber: 123,
  repo: "acme/widgets",
  apiUrl: "https://api.github.com",
  syncEnabled: true,
  commentMode: "edit",
  minIntervalMs: 1000,
};

export function makeAgent(
  domain: string,
  status: AgentStatus,
  done: number,
  total: number,
  extra: Partial<AgentState> = {},
): AgentState {
  return {
    agentId: `impl-${domain.slice(0, 3).toLowerCase()}-163000`,
    domain,
    status,
    filesCompleted: done,
    filesTotal: total,
    startedAt: null,
    updatedAt: STARTED,
    finishedAt: null,
    summary: null,
    error: null,
    events: [],
    ...extra,
  };
}

export function makeRun(agents: readonly AgentState[], extra: Partial<RunState> = {}): RunState {
  return {
    version: 1,
    runId: "EPIC-007-20251019T163000Z-ab12",
    epicId: "EPIC-007",
    startedAt: STARTED,
    completedAt: null,
    seq: 9,
    event: "Agent impl-bac-163000 progress updated",
    agents: Object.fromEntries(agents.map((agent) => [agent.agentId, agent])),
    mergeSummary: null,
    stallAfterMs: 15 * 60_000,
    github: GITHUB_TARGET,
    sync: { ...EMPTY_SYNC },
    ...extra,
  };
}

/** A mid-run state with every addition: stalled agents (pending and running), failures, events. */
export function liveRun(): RunState {
  return makeRun([
    makeAgent("backend", "in_progress", 6, 10, {
      startedAt: at("16:30:10"),
      updatedAt: at("16:49:30"),
      events: [
        { at: at("16:31:05"), message: "compiled module A" },
        { at: at("16:40:00"), message: "ping @alice <b>done</b> | ok" },
        { at: at("16:45:00"), message: "tests green\nnext: docs" },
        { at: at("16:49:30"), message: "wrote api.ts" },
      ],
    }),
    makeAgent("docs", "cancelled", 0, 2, {
      updatedAt: at("16:35:00"),
      finishedAt: at("16:35:00"),
      error: "not needed",
    }),
    makeAgent("frontend", "in_progress", 2, 8, { startedAt: at("16:30:30"), updatedAt: at("16:32:00") }),
    makeAgent("ops", "pending", 0, 5),
    makeAgent("qa", "failed", 1, 3, {
      startedAt: at("16:31:00"),
      updatedAt: at("16:38:00"),
      finishedAt: at("16:38:00"),
      error: "Compilation error in main.py",
    }),
    makeAgent("tests", "completed", 4, 4, {
      startedAt: at("16:30:20"),
      updatedAt: at("16:44:00"),
      finishedAt: at("16:44:00"),
      events: [{ at: at("16:44:00"), message: "all 4 suites pass" }],
    }),
  ]);
}
