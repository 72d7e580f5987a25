import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantRepository } from "../../../src/store/pg/admin.js";
import { migrate } from "../../../src/store/pg/migrate.js";
import { SCHEMA } from "../../../src/store/pg/migrations.js";
import { APPLIED, LATEST, WRITE } from "../../../src/store/pg/statements.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../../support/postgres.js";

/**
 * The row-level-security policies of agents and events look up the row's run by its key (migration 6):
 * as `run_id IN (SELECT id FROM runs)` they read every run (the runs policy applied to each) for each
 * statement of a granted role, which at a few million runs outlasts a statement's limit. Asserted on the
 * plans, not on timings: with many runs of other repositories, no statement of the store scans runs.
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL row-level-security plan tests: ${skip}`);

const RUNS = 50_000;
/** Every hundredth run is of the granted repository; the others of seven others. */
const GRANTED = "acme/apples";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

/** Every node of a plan, subplans and init plans included. */
function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe.skipIf(skip)("row-level security of a granted role on a database of many runs", () => {
  let server: PostgresDatabases;
  let name: string;
  let role: { name: string; password: string };
  let client: pg.Client;
  /** A run of the granted repository (epic E100), and one of another repository (E101). */
  let granted: string;
  let other: string;

  beforeAll(async () => {
    server = sharedPostgres();
    const made = await server.createDatabase("rlsplan");
    name = made.name;
    const owner = new pg.Client({ connectionString: made.url });
    await owner.connect();
    try {
      await migrate(owner);
    } finally {
      await owner.end();
    }
    // Roles are the server's: a name of this file's own.
    role = { name: `rlsplan_${randomBytes(3).toString("hex")}`, password: "rlsplan-pw" };
    await server.sql(name, `CREATE ROLE ${role.name} LOGIN PASSWORD '${role.password}'`);
    await grantRepository(made.url, role.name, GRANTED);
    // In one statement each, without triggers (the epic check's advisory lock per run would fill the lock
    // table): the runs have distinct epics, their agents and events their runs.
    await server.sql(
      name,
      `BEGIN;
       SET LOCAL session_replication_role = replica;
       INSERT INTO ${SCHEMA}.runs (run_id, epic_id, repo, started_at, seq, event, run_state)
       SELECT 'r' || i, 'E' || i, repo, now(), 1, 'x', jsonb_build_object('github', jsonb_build_object('repo', repo))
       FROM generate_series(1, ${RUNS}) i,
            LATERAL (SELECT CASE WHEN i % 100 = 0 THEN '${GRANTED}' ELSE 'other/r' || (i % 7) END AS repo) r;
       INSERT INTO ${SCHEMA}.agents (run_id, agent_id, domain, status, files_completed, files_total,
                                     updated_at, state)
       SELECT r.id, 'a' || j, 'd' || j, 'pending', 0, 0, now(), '{}' FROM ${SCHEMA}.runs r, generate_series(1, 2) j;
       INSERT INTO ${SCHEMA}.events (run_id, seq, event, correlation_id)
       SELECT r.id, 1, 'x', 'c' || r.id FROM ${SCHEMA}.runs r;
       COMMIT;
       ANALYZE ${SCHEMA}.runs, ${SCHEMA}.agents, ${SCHEMA}.events;`,
    );
    const ids = await server.sql<{ epic_id: string; id: string }>(
      name,
      `SELECT epic_id, id::text AS id FROM ${SCHEMA}.runs WHERE epic_id IN ('E100', 'E101')`,
    );
    granted = ids.find((r) => r.epic_id === "E100")!.id;
    other = ids.find((r) => r.epic_id === "E101")!.id;
    client = new pg.Client({ connectionString: server.url(name, role) });
    await client.connect();
  }, 120_000);
  afterAll(async () => {
    await client?.end();
  });

  /** The scans of runs in the plan of `text` with `values`, as the granted role plans it. */
  async function runsScans(text: string, values: unknown[]): Promise<string[]> {
    const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) ${text}`,
      values,
    );
    return nodes(rows[0]!["QUERY PLAN"][0].Plan)
      .filter((node) => node["Relation Name"] === "runs")
      .map((node) => node["Node Type"]);
  }

  it("reads an epic's latest run without scanning every run", async () => {
    const scans = await runsScans(LATEST, ["E100"]);
    expect(scans.length).toBeGreaterThan(0);
    expect(scans).not.toContain("Seq Scan");
  });

  it("writes a change without scanning every run", async () => {
    const agent = {
      agent_id: "a1",
      version: 0,
      state: {},
      domain: "d1",
      status: "in_progress",
      files_completed: 1,
      files_total: 2,
      started_at: null,
      finished_at: null,
      updated_at: new Date().toISOString(),
      summary: null,
      error: null,
    };
    const values = [granted, null, 0, null, 1, "x", true, JSON.stringify([agent]), true, "a1", "c-new"];
    const scans = await runsScans(WRITE, values);
    expect(scans.length).toBeGreaterThan(0);
    expect(scans).not.toContain("Seq Scan");
  });

  it("looks up an applied change without scanning every run", async () => {
    const scans = await runsScans(APPLIED, ["E100", `c${granted}`]);
    expect(scans.length).toBeGreaterThan(0);
    expect(scans).not.toContain("Seq Scan");
  });

  it("lets the role see and change the agents and events of its repository's runs, and no others", async () => {
    const count = async (table: string) =>
      (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SCHEMA}.${table}`)).rows[0]!.n;
    expect(await count("runs")).toBe(RUNS / 100);
    expect(await count("agents")).toBe((2 * RUNS) / 100);
    expect(await count("events")).toBe(RUNS / 100);
    await client.query("BEGIN");
    try {
      const agent = (run: string, id: string) =>
        client.query(
          `INSERT INTO ${SCHEMA}.agents (run_id, agent_id, domain, status, files_completed, files_total,
                                         updated_at, state)
           VALUES ($1, $2, $2, 'pending', 0, 0, now(), '{}')`,
          [run, id],
        );
      const event = (run: string) =>
        client.query(
          `INSERT INTO ${SCHEMA}.events (run_id, seq, event, correlation_id) VALUES ($1, 2, 'x', 'c-new')`,
          [run],
        );
      expect((await agent(granted, "a3")).rowCount).toBe(1);
      expect((await event(granted)).rowCount).toBe(1);
      const moved = await client.query(
        `UPDATE ${SCHEMA}.agents SET status = 'failed' WHERE run_id IN ($1, $2)`,
        [granted, other],
      );
      expect(moved.rowCount).toBe(3);
      await client.query("SAVEPOINT refused");
      await expect(agent(other, "a3")).rejects.toThrow(/row-level security/);
      await client.query("ROLLBACK TO SAVEPOINT refused");
      await expect(event(other)).rejects.toThrow(/row-level security/);
      await client.query("ROLLBACK TO SAVEPOINT refused");
      // An agent or event of its own run cannot be moved to a run it cannot see.
      await expect(
        client.query(`UPDATE ${SCHEMA}.agents SET run_id = $2 WHERE run_id = $1`, [granted, other]),
      ).rejects.toThrow(/row-level security/);
      await client.query("ROLLBACK TO SAVEPOINT refused");
      await expect(
        client.query(`UPDATE ${SCHEMA}.events SET run_id = $2 WHERE run_id = $1`, [granted, other]),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await client.query("ROLLBACK");
    }
  });
});
