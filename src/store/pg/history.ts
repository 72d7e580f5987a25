import type { RunState } from "../../model/types.js";
import { withDatabase } from "./admin.js";
import { schemaStatus } from "./migrate.js";
import { SCHEMA } from "./migrations.js";

/** Runs newest first (of one epic when given), as the role may see them (row-level security applies). */
export async function listRuns(url: string, epicId: string | null, limit: number): Promise<RunState[]> {
  return withDatabase(url, async (client) => {
    if ((await schemaStatus(client)).version === 0) return []; // nothing was ever recorded here
    const { rows } = await client.query<{ state: RunState }>(
      `SELECT state FROM ${SCHEMA}.runs WHERE ($1::text IS NULL OR epic_id = $1) ORDER BY id DESC LIMIT $2`,
      [epicId, limit],
    );
    return rows.map((row) => row.state);
  });
}

/** Earlier finalized runs that had one of `domains`, newest first: what the ETA learns from. */
export async function pastRunsWithDomains(
  url: string,
  domains: readonly string[],
  excludeRunId: string,
  limit = 20,
): Promise<RunState[]> {
  return withDatabase(url, async (client) => {
    if ((await schemaStatus(client)).version === 0) return [];
    const { rows } = await client.query<{ state: RunState }>(
      `SELECT r.state FROM ${SCHEMA}.runs r
       WHERE r.completed_at IS NOT NULL AND r.run_id <> $2
         AND EXISTS (SELECT 1 FROM ${SCHEMA}.agents a WHERE a.run_id = r.id AND a.domain = ANY($1::text[])
                     AND a.status = 'completed')
       ORDER BY r.id DESC LIMIT $3`,
      [domains, excludeRunId, limit],
    );
    return rows.map((row) => row.state);
  });
}
