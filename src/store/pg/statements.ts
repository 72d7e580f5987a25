import { SCHEMA } from "./migrations.js";

// The store's SQL text (src/store/pg/pg-store.ts runs it). Every value is a parameter: the epic id, the
// domains and the agents' states are data, never part of a statement.

/**
 * The epic's latest run (its run row and its agent rows, none when the epic has no run), the database's
 * clock and the schema version, in one round trip. The clock is `clock_timestamp()`, read as the run is:
 * in a locked try `now()` would be the transaction's start, earlier than a run another init committed
 * while this one waited for its lock (which it then closes as abandoned before that run started).
 */
export const LATEST = `
SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms,
       (SELECT max(version) FROM ${SCHEMA}.schema_migrations) AS version,
       r.id::text AS id, r.channel, r.revision::text AS revision, r.run_version::text AS run_version,
       r.seq::float8 AS seq, r.event, r.run_state,
       (SELECT json_agg(json_build_array(a.agent_id, a.version, a.state) ORDER BY a.agent_id) FROM ${SCHEMA}.agents a
        WHERE a.run_id = r.id) AS agents
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT id, channel, revision, run_version, seq, event, run_state FROM ${SCHEMA}.runs
  WHERE epic_id = $1 ORDER BY id DESC LIMIT 1
) AS r ON true`;

/**
 * One run by its run id, of any epic (run ids are unique: a retry under another epic may hold a queued
 * post of it), its run row and agent rows, and the database's clock: no row when there is no such run, or
 * the role may not see it (row-level security applies).
 */
export const RUN_BY_ID = `
SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms,
       r.seq::float8 AS seq, r.event, r.run_state,
       (SELECT json_agg(json_build_array(a.agent_id, a.version, a.state) ORDER BY a.agent_id) FROM ${SCHEMA}.agents a
        WHERE a.run_id = r.id) AS agents
FROM ${SCHEMA}.runs r WHERE r.run_id = $1`;

/**
 * The run that was the epic's latest at a time ($2, a timestamptz on the database's clock) that the role may
 * see: the latest made of those started by then (none: no run of the epic had started); with the run made
 * next of the epic, the one that replaced it (none: it is the latest).
 */
export const RUN_AT = `
SELECT r.run_id, n.run_id AS next_run_id, n.started_at AS next_started_at FROM ${SCHEMA}.runs r
LEFT JOIN LATERAL (
  SELECT m.run_id, m.started_at FROM ${SCHEMA}.runs m WHERE m.epic_id = r.epic_id AND m.id > r.id
  ORDER BY m.id LIMIT 1
) n ON true
WHERE r.epic_id = $1 AND r.started_at <= $2 ORDER BY r.id DESC LIMIT 1`;

/**
 * Locks the epic's latest run row, for a locked try: sent just before LATEST (in the same round trip), which
 * then reads with a snapshot taken after the lock (a statement that waited on a row lock sees that row's
 * newest version, but the rest, the agents, as they were when it started). Ordered by the column, `r.id`:
 * a bare `id` would be the text output column, in which "9" comes after "10".
 */
export const LOCK_LATEST = `SELECT r.id::text AS id FROM ${SCHEMA}.runs r WHERE r.epic_id = $1 ORDER BY r.id DESC LIMIT 1 FOR UPDATE`;

export const INSERT_RUN = `
INSERT INTO ${SCHEMA}.runs (run_id, epic_id, repo, issue_number, started_at, completed_at, seq, event, run_state)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id::text AS id, channel`;

/** The channel of the epic's latest run that this role may see. */
export const LATEST_CHANNEL = `SELECT channel FROM ${SCHEMA}.runs WHERE epic_id = $1 ORDER BY id DESC LIMIT 1`;

/** Each domain's median duration over its latest 20 completed agents in earlier runs (visible to the role). */
export const PAST_DURATIONS = `
SELECT d.domain, percentile_cont(0.5) WITHIN GROUP (ORDER BY p.ms)::float8 AS ms
FROM unnest($1::text[]) AS d(domain)
CROSS JOIN LATERAL (
  SELECT extract(epoch FROM a.finished_at - a.started_at) * 1000 AS ms
  FROM ${SCHEMA}.agents a
  WHERE a.domain = d.domain AND a.status = 'completed' AND a.started_at IS NOT NULL
    AND a.finished_at IS NOT NULL
  ORDER BY a.finished_at DESC LIMIT 20
) AS p
GROUP BY d.domain`;

/** What the write raises when an agent changed since the change read it (see WRITE). */
export const CONFLICT_MARK = "parallel_progress: an agent changed since the change read it";

/**
 * One change, one autocommit statement. First the run row: it takes the run's next sequence number
 * (`seq + $5`) under the row's lock, held for this statement only, so sequence numbers stay contiguous and
 * in commit order, checking what the change read: any write since (`revision`, $2) for a change of the
 * run-level fields, or a write of the run-level fields (`run_version`, $3) for a change of agents alone.
 * No row: nothing is written (no other part runs without it). Then each agent the change touched, at the
 * version it read (none: a new agent, inserted; the run row comes first, as the scalar subquery makes it),
 * the event row and the NOTIFY. An agent that changed since (or was added meanwhile) is left as it is, and
 * the statement fails with CONFLICT_MARK (a cast that fails: plain SQL raises nothing else), so nothing of
 * it is written. (One upsert rather than an UPDATE and an INSERT: a new connection plans it in about 1 ms
 * less.)
 */
export const WRITE = `
WITH run AS (
  UPDATE ${SCHEMA}.runs SET
    seq = seq + $5::integer,
    event = CASE WHEN $7::boolean THEN $6::text ELSE event END,
    run_state = coalesce($4::jsonb, run_state),
    completed_at = CASE WHEN $4::jsonb IS NULL THEN completed_at
                        ELSE ($4::jsonb ->> 'completedAt')::timestamptz END,
    repo = CASE WHEN $4::jsonb IS NULL THEN repo ELSE $4::jsonb -> 'github' ->> 'repo' END,
    issue_number = CASE WHEN $4::jsonb IS NULL THEN issue_number
                        ELSE ($4::jsonb -> 'github' ->> 'issueNumber')::integer END,
    run_version = run_version + CASE WHEN $4::jsonb IS NULL THEN 0 ELSE 1 END,
    revision = revision + 1,
    updated_at = now()
  WHERE id = $1::bigint AND ($2::bigint IS NULL OR revision = $2::bigint)
    AND ($3::bigint IS NULL OR run_version = $3::bigint)
  RETURNING id, seq, channel
), given AS (
  SELECT * FROM jsonb_to_recordset($8::jsonb) AS g(agent_id text, version bigint, state jsonb, domain text,
    status text, files_completed bigint, files_total bigint, started_at timestamptz, finished_at timestamptz,
    updated_at timestamptz, summary text, error text)
), changed AS (
  INSERT INTO ${SCHEMA}.agents AS a (run_id, agent_id, domain, status, files_completed, files_total,
                                     started_at, finished_at, updated_at, summary, error, state)
  SELECT (SELECT id FROM run), g.agent_id, g.domain, g.status, g.files_completed, g.files_total,
         g.started_at, g.finished_at, g.updated_at, g.summary, g.error, g.state
  FROM given g WHERE (SELECT id FROM run) IS NOT NULL
  ON CONFLICT (run_id, agent_id) DO UPDATE SET state = excluded.state, version = a.version + 1,
    domain = excluded.domain, status = excluded.status, files_completed = excluded.files_completed,
    files_total = excluded.files_total, started_at = excluded.started_at, finished_at = excluded.finished_at,
    updated_at = excluded.updated_at, summary = excluded.summary, error = excluded.error
  WHERE a.version = (SELECT g.version FROM given g WHERE g.agent_id = excluded.agent_id)
  RETURNING 1
), event AS (
  INSERT INTO ${SCHEMA}.events (run_id, seq, agent_id, event, correlation_id)
  SELECT run.id, run.seq, $10::text, $6::text, $11::text FROM run WHERE $9::boolean
)
SELECT CASE WHEN (SELECT count(*) FROM changed) = jsonb_array_length($8::jsonb)
            THEN run.seq ELSE ('${CONFLICT_MARK} ' || run.seq)::bigint END AS seq,
       pg_notify(run.channel, '')
FROM run`;

/** A change with this correlation id is in one of the epic's runs already (a replay: applied once). */
export const APPLIED = `
SELECT 1 FROM ${SCHEMA}.events e JOIN ${SCHEMA}.runs r ON r.id = e.run_id
WHERE r.epic_id = $1 AND e.correlation_id = $2 LIMIT 1`;
