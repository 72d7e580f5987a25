import type { RunState } from "../../model/types.js";
import { withDatabase } from "./admin.js";
import { schemaStatus } from "./migrate.js";
import { SCHEMA } from "./migrations.js";

/** Runs newest first (of one epic when given), as the role may see them (row-level security applies). */
export async function listRuns(url: string, epicId: string | null, limit: number): Promise<RunState[]> {
  return withDatabase(url, async (client) => {
    if ((await schemaStatus(client)).version === 0) return []; // nothing was ever recorded here
    const { rows } = await client.query<{ state: RunState }>(
      `SELECT r.run_state || jsonb_build_object('seq', r.seq, 'event', r.event, 'agents',
         coalesce((SELECT jsonb_object_agg(a.agent_id, a.state) FROM ${SCHEMA}.agents a WHERE a.run_id = r.id),
                  '{}'::jsonb)) AS state
       FROM ${SCHEMA}.runs r WHERE ($1::text IS NULL OR r.epic_id = $1) ORDER BY r.id DESC LIMIT $2`,
      [epicId, limit],
    );
    return rows.map((row) => row.state);
  });
}
