import { EPIC_TAKEN } from "./config.js";

/**
 * The database schema, as versioned migrations applied in order (never edited once released: a change is
 * a new migration). Everything lives in the `parallel_progress` schema, so it sits beside other tables.
 * Since version 3 a run is stored in rows of its own parts: `runs` holds the run-level fields (`run_state`,
 * jsonb, without the agents; `seq` and `event` in columns), each agent its own `agents` row (`state`, jsonb,
 * with a `version`), so that changes of different agents never wait on each other across a round trip (see
 * WRITE in statements.ts). `events` keeps one row per change (its sequence number, its correlation id).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SCHEMA = "parallel_progress";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "runs, agents, events",
    sql: `
CREATE TABLE ${SCHEMA}.runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id text NOT NULL UNIQUE,
  epic_id text NOT NULL CHECK (length(epic_id) BETWEEN 1 AND 200),
  repo text CHECK (repo IS NULL OR repo ~ '^[^/]+/[^/]+$'),
  issue_number integer CHECK (issue_number IS NULL OR issue_number > 0),
  started_at timestamptz NOT NULL,
  completed_at timestamptz CHECK (completed_at IS NULL OR completed_at >= started_at),
  seq bigint NOT NULL CHECK (seq >= 0),
  revision bigint NOT NULL DEFAULT 0,
  state jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_epic_latest ON ${SCHEMA}.runs (epic_id, id DESC);
CREATE INDEX runs_repo ON ${SCHEMA}.runs (repo);
CREATE INDEX runs_started ON ${SCHEMA}.runs (started_at DESC);

CREATE TABLE ${SCHEMA}.agents (
  run_id bigint NOT NULL REFERENCES ${SCHEMA}.runs (id) ON DELETE CASCADE,
  agent_id text NOT NULL,
  domain text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'in_progress', 'completed', 'failed', 'cancelled')),
  files_completed bigint NOT NULL CHECK (files_completed >= 0),
  files_total bigint NOT NULL CHECK (files_total >= 0),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL,
  summary text,
  error text,
  PRIMARY KEY (run_id, agent_id),
  UNIQUE (run_id, domain),
  CHECK (files_completed <= files_total)
);
CREATE INDEX agents_domain ON ${SCHEMA}.agents (domain, finished_at DESC);

CREATE TABLE ${SCHEMA}.events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id bigint NOT NULL REFERENCES ${SCHEMA}.runs (id) ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq >= 0),
  agent_id text,
  event text NOT NULL,
  correlation_id text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, correlation_id),
  UNIQUE (run_id, seq)
);
CREATE INDEX events_correlation ON ${SCHEMA}.events (correlation_id);

-- Row-level security: which role may see and change the runs of which repository (db grant).
CREATE TABLE ${SCHEMA}.grants (
  role_name name NOT NULL,
  repo text NOT NULL,
  PRIMARY KEY (role_name, repo)
);
ALTER TABLE ${SCHEMA}.grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON ${SCHEMA}.grants FOR SELECT USING (role_name = current_user);
ALTER TABLE ${SCHEMA}.runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY granted_repos ON ${SCHEMA}.runs
  USING (repo IN (SELECT g.repo FROM ${SCHEMA}.grants g WHERE g.role_name = current_user))
  WITH CHECK (repo IN (SELECT g.repo FROM ${SCHEMA}.grants g WHERE g.role_name = current_user));
ALTER TABLE ${SCHEMA}.agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY granted_runs ON ${SCHEMA}.agents
  USING (run_id IN (SELECT r.id FROM ${SCHEMA}.runs r))
  WITH CHECK (run_id IN (SELECT r.id FROM ${SCHEMA}.runs r));
ALTER TABLE ${SCHEMA}.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY granted_runs ON ${SCHEMA}.events
  USING (run_id IN (SELECT r.id FROM ${SCHEMA}.runs r))
  WITH CHECK (run_id IN (SELECT r.id FROM ${SCHEMA}.runs r));
`,
  },
  {
    version: 2,
    name: "a private notification channel per run",
    // Any role may LISTEN on any channel: a run's changes are announced on a channel named by an
    // unguessable id that only those who may see the run can read (row-level security), with no payload.
    sql: `
ALTER TABLE ${SCHEMA}.runs
  ADD COLUMN channel text NOT NULL UNIQUE
  DEFAULT ('pp_' || replace(gen_random_uuid()::text, '-', ''))
  CHECK (channel ~ '^pp_[0-9a-f]{32}$');
`,
  },
  {
    version: 3,
    name: "a row per agent: a change writes only what it touched, in one statement",
    // Carries existing runs over: each agent's state moves from runs.state into its agents row (rows the
    // store did not mirror yet are made), `seq` and `event` into columns; `state` is renamed `run_state`, so a
    // process of an older release fails loudly (no such column) rather than reading a run without agents.
    sql: `
ALTER TABLE ${SCHEMA}.agents ADD COLUMN state jsonb, ADD COLUMN version bigint NOT NULL DEFAULT 0;
INSERT INTO ${SCHEMA}.agents AS a (run_id, agent_id, domain, status, files_completed, files_total,
                                   started_at, finished_at, updated_at, summary, error)
SELECT r.id, g.key, g.value ->> 'domain', g.value ->> 'status', (g.value ->> 'filesCompleted')::bigint,
       (g.value ->> 'filesTotal')::bigint, (g.value ->> 'startedAt')::timestamptz,
       (g.value ->> 'finishedAt')::timestamptz, (g.value ->> 'updatedAt')::timestamptz,
       g.value ->> 'summary', g.value ->> 'error'
FROM ${SCHEMA}.runs r CROSS JOIN LATERAL jsonb_each(r.state -> 'agents') AS g
ON CONFLICT (run_id, agent_id) DO NOTHING;
UPDATE ${SCHEMA}.agents a SET state = r.state -> 'agents' -> a.agent_id
FROM ${SCHEMA}.runs r WHERE r.id = a.run_id;
ALTER TABLE ${SCHEMA}.agents ALTER COLUMN state SET NOT NULL;
ALTER TABLE ${SCHEMA}.agents ADD CONSTRAINT agents_state_object CHECK (jsonb_typeof(state) = 'object');

ALTER TABLE ${SCHEMA}.runs ADD COLUMN event text, ADD COLUMN run_version bigint NOT NULL DEFAULT 0;
UPDATE ${SCHEMA}.runs SET event = coalesce(state ->> 'event', ''), state = state - 'agents' - 'seq' - 'event';
ALTER TABLE ${SCHEMA}.runs ALTER COLUMN event SET NOT NULL;
ALTER TABLE ${SCHEMA}.runs RENAME COLUMN state TO run_state;
COMMENT ON COLUMN ${SCHEMA}.runs.revision IS 'bumped by every write of the run';
COMMENT ON COLUMN ${SCHEMA}.runs.run_version IS 'bumped by every write of run_state (the run-level fields)';

`,
  },
  {
    version: 4,
    name: "an epic id belongs to one repository",
    // Row-level security hides the runs of other repositories, so a role could start a run for an epic id
    // that another repository uses (its "still active" check sees nothing) and become that epic's latest
    // run. The database refuses it, for the store and plain SQL alike: a new run (or a run moved to an
    // epic) must have the repository of the epic's latest run, a local run's (none) counting as one of
    // its own, compared as GitHub does (case aside). As definer, the check sees every run; it takes the
    // per-epic advisory lock the store takes for a new run, so two new runs of an epic are checked in turn.
    sql: `
CREATE FUNCTION ${SCHEMA}.epic_of_one_repository() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  latest_repo text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('run:' || NEW.epic_id, 0));
  SELECT r.repo INTO latest_repo FROM ${SCHEMA}.runs r
  WHERE r.epic_id = NEW.epic_id AND r.id IS DISTINCT FROM NEW.id ORDER BY r.id DESC LIMIT 1;
  IF FOUND AND lower(latest_repo) IS DISTINCT FROM lower(NEW.repo) THEN
    RAISE EXCEPTION 'epic % is taken by the runs of another repository: choose another epic id',
      to_json(NEW.epic_id)::text USING ERRCODE = '${EPIC_TAKEN}';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION ${SCHEMA}.epic_of_one_repository() FROM PUBLIC;
CREATE TRIGGER runs_epic_of_one_repository BEFORE INSERT ON ${SCHEMA}.runs
  FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.epic_of_one_repository();
CREATE TRIGGER runs_epic_moved BEFORE UPDATE OF epic_id ON ${SCHEMA}.runs
  FOR EACH ROW WHEN (OLD.epic_id IS DISTINCT FROM NEW.epic_id)
  EXECUTE FUNCTION ${SCHEMA}.epic_of_one_repository();
`,
  },
  {
    version: 5,
    name: "a repository is granted as GitHub names it, case aside, and to a granted role's members",
    // GitHub takes owner/name whatever its case, and so does the rule of version 4; the grants compared it
    // exactly, so a role granted acme/widgets could neither see nor start a run of Acme/Widgets (as
    // GITHUB_REPOSITORY or a clone's origin may spell it): "no permission", though it was granted. And a
    // grant to a group role gave its members the tables' privileges (inherited) but not the rows: it now
    // holds for the roles whose privileges the current one has (pg_has_role USAGE, as privileges are
    // inherited), looked up in pg_roles (a granted role dropped since matches no one, and fails nothing);
    // such a role sees those roles' grants (the runs policy reads them as it).
    sql: `
ALTER POLICY own_grants ON ${SCHEMA}.grants
  USING (role_name IN (
    SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')));
ALTER POLICY granted_repos ON ${SCHEMA}.runs
  USING (lower(repo) IN (SELECT lower(g.repo) FROM ${SCHEMA}.grants g WHERE g.role_name IN (
    SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))))
  WITH CHECK (lower(repo) IN (SELECT lower(g.repo) FROM ${SCHEMA}.grants g WHERE g.role_name IN (
    SELECT r.rolname FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))));
`,
  },
  {
    version: 6,
    name: "an agent's or event's run is looked up by its key",
    // The agents and events policies asked `run_id IN (SELECT r.id FROM runs r)`, which PostgreSQL plans as
    // a scan of every run (the runs policy applied to each) for each statement of a role under row-level
    // security: hundreds of milliseconds at 200,000 runs, past a statement's limit at a few million. The
    // same condition (a role sees or changes an agent or an event only when it can see its run) as an
    // EXISTS on the run's key: a primary-key lookup per row.
    sql: `
ALTER POLICY granted_runs ON ${SCHEMA}.agents
  USING (EXISTS (SELECT 1 FROM ${SCHEMA}.runs r WHERE r.id = agents.run_id))
  WITH CHECK (EXISTS (SELECT 1 FROM ${SCHEMA}.runs r WHERE r.id = agents.run_id));
ALTER POLICY granted_runs ON ${SCHEMA}.events
  USING (EXISTS (SELECT 1 FROM ${SCHEMA}.runs r WHERE r.id = events.run_id))
  WITH CHECK (EXISTS (SELECT 1 FROM ${SCHEMA}.runs r WHERE r.id = events.run_id));
`,
  },
  {
    version: 7,
    name: "a grant belongs to its role, not to its name; a run's own fields are an object",
    // A grant named its role (role_name), and PostgreSQL lets a role be dropped with grants of it left: they
    // held for no one until a new role was given that name, which then saw the old role's repositories. A
    // grant now holds the role itself (role_id, regrole: its oid, dumped and restored by name), and dies
    // with it, as PostgreSQL's own privileges do; role_name keeps the name it was granted under, for `db
    // grants` to show a dropped role's grant and `db revoke` to remove it. The grants of roles already
    // dropped are removed here (they held for no one, and would have passed to the next role of that name).
    // And a run's own fields (run_state) must be a JSON object, as an agent's state has been since version 3;
    // the repository they name must be the row's `repo` (which row-level security checks): a role could
    // otherwise set another repository in run_state alone, and the owner's next write of the run's fields,
    // which sets `repo` from run_state, would move the run there for it.
    sql: `
ALTER TABLE ${SCHEMA}.grants ADD COLUMN role_id regrole;
UPDATE ${SCHEMA}.grants g SET role_id = r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = g.role_name;
DELETE FROM ${SCHEMA}.grants WHERE role_id IS NULL;
ALTER TABLE ${SCHEMA}.grants ALTER COLUMN role_id SET NOT NULL;
ALTER TABLE ${SCHEMA}.grants DROP CONSTRAINT grants_pkey, ADD PRIMARY KEY (role_id, repo);
COMMENT ON COLUMN ${SCHEMA}.grants.role_name IS 'the role''s name when it was granted';
ALTER POLICY own_grants ON ${SCHEMA}.grants
  USING (role_id IN (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE')));
ALTER POLICY granted_repos ON ${SCHEMA}.runs
  USING (lower(repo) IN (SELECT lower(g.repo) FROM ${SCHEMA}.grants g WHERE g.role_id IN (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))))
  WITH CHECK (lower(repo) IN (SELECT lower(g.repo) FROM ${SCHEMA}.grants g WHERE g.role_id IN (
    SELECT r.oid FROM pg_catalog.pg_roles r WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))));

-- A role may change its repositories' runs with plain SQL, and run_state = 'null' made every history of
-- the owner fail; nor may run_state name another repository than the row's repo (which row-level security
-- checks, and the owner's next write would set from run_state). Checked for every write from now on;
-- NOT VALID: a run damaged before stays (history names it and lists the others), rather than the
-- migration failing on it, and every call with it.
ALTER TABLE ${SCHEMA}.runs
  ADD CONSTRAINT runs_run_state_object CHECK (jsonb_typeof(run_state) = 'object') NOT VALID,
  ADD CONSTRAINT runs_repo_of_run_state CHECK (jsonb_typeof(run_state) IS DISTINCT FROM 'object'
    OR repo IS NOT DISTINCT FROM run_state -> 'github' ->> 'repo') NOT VALID;
`,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
