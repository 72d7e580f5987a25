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
