import type { RunState } from "../../model/types.js";
import { withDatabase } from "./admin.js";
import { parseStoreUrl } from "./config.js";
import { migrateExplained, schemaStatus } from "./migrate.js";
import { LATEST_VERSION, SCHEMA } from "./migrations.js";

/**
 * Runs newest first, by when they started (of one epic when given), as the role may see them (row-level security applies). A
 * schema older than this release is brought up to date first, as the store does on first use: the
 * query reads the tables as they are now (an older one has no `run_state`).
 */
export async function listRuns(url: string, epicId: string | null, limit: number): Promise<RunState[]> {
  return withDatabase(url, async (client) => {
    const { version } = await schemaStatus(client);
    if (version === 0) return []; // nothing was ever recorded here
    if (version < LATEST_VERSION) {
      await migrateExplained(client, parseStoreUrl(url).safe);
    }
    const { rows } = await client.query<{ state: RunState }>(
      `SELECT r.run_state || jsonb_build_object('seq', r.seq, 'event', r.event, 'agents',
         coalesce((SELECT jsonb_object_agg(a.agent_id, a.state) FROM ${SCHEMA}.agents a WHERE a.run_id = r.id),
                  '{}'::jsonb)) AS state
       FROM ${SCHEMA}.runs r WHERE ($1::text IS NULL OR r.epic_id = $1) ORDER BY r.started_at DESC, r.id DESC LIMIT $2`,
      [epicId, limit],
    );
    return rows.map((row) => row.state);
  });
}
