import type pg from "pg";
import { StoreUnavailableError } from "../../errors.js";
import type { AgentState, RunState } from "../../model/types.js";
import type { RunAt } from "../types.js";
import { LATEST_VERSION } from "./migrations.js";
import { SchemaBehind } from "./pg-errors.js";
import type { Session } from "./session.js";
import { LATEST, LOCK_LATEST, RUN_AT, RUN_BY_ID } from "./statements.js";

interface LatestRow {
  now_ms: number;
  version: number | null;
  id: string | null;
  /** The run's notification channel. */
  channel: string | null;
  /** Bumped by every write of the run: a change of the run-level fields checks it. */
  revision: string | null;
  /** Bumped by every write of the run-level fields: a change of agents alone checks it. */
  run_version: string | null;
  seq: number | null;
  event: string | null;
  /** The run-level fields (no agents, seq, event). */
  run_state: Omit<RunState, "agents" | "seq" | "event"> | null;
  /** Each agent row: [agent id, version, state] (json_agg: no jsonb object built for the read). */
  agents: [string, number, AgentState][] | null;
}

/** A run's rows as a read returns them. */
type RunRows = Pick<LatestRow, "now_ms" | "seq" | "event" | "run_state" | "agents">;

/** The run that a read found (null: none), with what a change checks when it writes. */
export interface Latest {
  now: number;
  id: string | null;
  channel: string | null;
  revision: string | null;
  runVersion: string | null;
  versions: Record<string, number>;
  state: RunState | null;
}

/** The run row a write is checked against: its id, and the revision and run-level version read. */
export type RunRow = Pick<Latest, "id" | "revision" | "runVersion">;

/**
 * A run's rows as one RunState, and each agent row's version. (The agents' order is the read's, by id:
 * every view lists them in tree order, by domain.)
 */
function assemble(row: RunRows): { state: RunState | null; versions: Record<string, number> } {
  if (row.run_state === null) return { state: null, versions: {} };
  const agents: Record<string, AgentState> = {};
  const versions: Record<string, number> = {};
  for (const [id, version, agent] of row.agents ?? []) {
    agents[id] = agent;
    versions[id] = version;
  }
  const state = { ...row.run_state, seq: row.seq!, event: row.event!, agents } as RunState;
  return { state, versions };
}

/**
 * The epic's latest run (its row locked when `lock`, by a caller holding the epic's lock), the database's
 * clock, and the schema version.
 */
export async function readLatest(client: pg.ClientBase, session: Session, lock: boolean): Promise<Latest> {
  const { epicId, where } = session;
  // Sent in this order, in one round trip: the lock, then the read.
  const locking = lock
    ? client.query<{ id: string }>(session.statement("pp_lock", LOCK_LATEST, [epicId]))
    : null;
  const [locked, { rows }] = await Promise.all([
    locking,
    client.query<LatestRow>(session.statement("pp_latest", LATEST, [epicId])),
  ]);
  const row = rows[0]!;
  if ((row.version ?? 0) < LATEST_VERSION && !session.schemaChecked) throw new SchemaBehind();
  session.schemaChecked = true;
  // Under the epic's lock no run is made between the two (migration 4's triggers take it too); a run made
  // by SQL that skips them is not written over: the change is left for later (kept on the machine's disk).
  if (locked && (locked.rows[0]?.id ?? null) !== row.id) {
    throw new StoreUnavailableError(
      `${where}: epic ${JSON.stringify(epicId)} got a new run while a change locked its latest run`,
    );
  }
  return {
    now: row.now_ms,
    id: row.id,
    channel: row.channel,
    revision: row.revision,
    runVersion: row.run_version,
    ...assemble(row),
  };
}

/** Run `runId`, of any epic (null: none, or one the role may not see), and the database's clock. */
export async function readRun(
  client: pg.ClientBase,
  runId: string,
): Promise<{ now: number | null; state: RunState | null }> {
  const { rows } = await client.query<RunRows>(RUN_BY_ID, [runId]);
  const row = rows[0];
  return row ? { now: row.now_ms, state: assemble(row).state } : { now: null, state: null };
}

/** The epic's latest run at `time` (epoch ms, the database's clock); null when none had started. */
export async function readRunAt(client: pg.ClientBase, epicId: string, time: number): Promise<RunAt | null> {
  const { rows } = await client.query<{
    run_id: string;
    next_run_id: string | null;
    next_started_at: Date | null;
  }>(RUN_AT, [epicId, new Date(time)]);
  const row = rows[0];
  if (!row) return null;
  const replacedBy =
    row.next_run_id === null || row.next_started_at === null
      ? null
      : { runId: row.next_run_id, startedAt: row.next_started_at.toISOString() };
  return { runId: row.run_id, replacedBy };
}
