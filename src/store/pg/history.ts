import { quote } from "../../config/show-value.js";
import { UnreadableStateError } from "../../errors.js";
import type { RunState } from "../../model/types.js";
import { withDatabase } from "./admin.js";
import { parseStoreUrl } from "./config.js";
import { migrateExplained, schemaStatus } from "./migrate.js";
import { LATEST_VERSION, SCHEMA } from "./migrations.js";

/**
 * Runs newest first, by when they started (of one epic when given), as the role may see them (row-level
 * security applies). A schema older than this release is brought up to date first, as the store does on
 * first use: the query reads the tables as they are now (an older one has no `run_state`). A run whose
 * stored state is not a run's (edited with plain SQL by a role that may change it) is left out of `runs`
 * and `damaged` says which and what is wrong with it: one run cannot hide the others.
 */
export async function listRuns(
  url: string,
  epicId: string | null,
  limit: number,
): Promise<{ runs: RunState[]; damaged: string[] }> {
  return withDatabase(url, async (client) => {
    const { version } = await schemaStatus(client);
    if (version === 0) return { runs: [], damaged: [] }; // nothing was ever recorded here
    if (version < LATEST_VERSION) {
      await migrateExplained(client, parseStoreUrl(url).safe);
    }
    const { rows } = await client.query<{ run_id: string; epic_id: string; kind: string; state: unknown }>(
      `SELECT r.run_id, r.epic_id, jsonb_typeof(r.run_state) AS kind,
         CASE WHEN jsonb_typeof(r.run_state) = 'object' THEN r.run_state || jsonb_build_object('seq', r.seq,
           'event', r.event, 'agents', coalesce(
             (SELECT jsonb_object_agg(a.agent_id, a.state) FROM ${SCHEMA}.agents a WHERE a.run_id = r.id),
             '{}'::jsonb)) END AS state
       FROM ${SCHEMA}.runs r WHERE ($1::text IS NULL OR r.epic_id = $1) ORDER BY r.started_at DESC, r.id DESC LIMIT $2`,
      [epicId, limit],
    );
    const { validateRunState } = await import("../state-schema.js");
    const runs: RunState[] = [];
    const damaged: string[] = [];
    for (const row of rows) {
      const where = `run ${quote(row.run_id)} of epic ${quote(row.epic_id)}`;
      if (row.kind !== "object") {
        damaged.push(`${where}: run_state must be an object, got ${row.kind}`);
        continue;
      }
      try {
        runs.push(validateRunState(row.state, where));
      } catch (error) {
        if (!(error instanceof UnreadableStateError)) throw error;
        damaged.push(error.problem);
      }
    }
    return { runs, damaged };
  });
}
