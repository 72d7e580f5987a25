import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * `history` and the final summary tell the same durations, with either store: an agent still unfinished
 * when the run was finalized worked to the run's end, its status kept.
 */

const epic = useEpicDirs();
const THREE_MINUTES = 3 * 60_000;

async function ok(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const result = await runCli(args, { env });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return result;
}

interface Listed {
  status: string;
  agents: { domain: string; status: string; durationMs: number | null }[];
}

/**
 * Finalizes the run with `api` still in progress (since `startedAt` was moved 3 minutes back by
 * `backdate`) and `web` never started, then checks history against the final summary.
 */
async function finalizedWithOneUnfinished(
  cli: (args: string[]) => Promise<CliResult>,
  backdate: (agentId: string) => Promise<void>,
): Promise<void> {
  const init = await cli(["init", "--epic", "EPIC-H", "--domains", "api,web"]);
  const api = init.stdout.split("\n")[0]!.split("\t")[1]!;
  await cli(["update", "api", "--status", "in_progress", "--files", "1/4"]);
  await backdate(api);
  await cli(["finalize", "--summary", "merged"]);

  const body = (await cli(["status", "--markdown"])).stdout;
  const durations = body.slice(body.indexOf("### Agent Durations"), body.indexOf("### Timeline"));
  expect(durations).toContain(`- api (${api}): 🔄 In Progress, unfinished after 3 minutes`);
  expect(durations).toMatch(/- web \(impl-web-\d+\): ⏳ Pending, did not start/);

  const [run] = JSON.parse((await cli(["history", "--json"])).stdout) as Listed[];
  expect(run!.status).toBe("completed");
  const [listedApi, listedWeb] = run!.agents;
  expect(listedApi).toMatchObject({ domain: "api", status: "in_progress" });
  expect(listedApi!.durationMs).toBeGreaterThanOrEqual(THREE_MINUTES);
  expect(listedApi!.durationMs).toBeLessThan(THREE_MINUTES + 60_000);
  expect(listedWeb).toMatchObject({ domain: "web", status: "pending", durationMs: null });
  const text = (await cli(["history"])).stdout.split("\n");
  expect(text.slice(1, 3)).toEqual(["  api\tin_progress\t3 minutes", "  web\tpending\t-"]);
}

describe("history's durations agree with the final summary's", () => {
  it("file store: an agent unfinished at finalize worked to the run's end", async () => {
    const dir = await epic();
    const stateFile = join(dir, ".parallel-progress", "state.json");
    await finalizedWithOneUnfinished(
      (args) => ok([...args, "--dir", dir]),
      async (agentId) => {
        const state = JSON.parse(await readFile(stateFile, "utf8"));
        const startedAt = Date.parse(state.agents[agentId].startedAt) - THREE_MINUTES;
        state.agents[agentId].startedAt = new Date(startedAt).toISOString();
        await writeFile(stateFile, JSON.stringify(state));
      },
    );
  });

  const skip = postgresUnavailable();
  if (skip) console.warn(`skipping history's PostgreSQL durations test: ${skip}`);
  describe.skipIf(skip)("PostgreSQL store", () => {
    let server: PostgresDatabases;
    beforeAll(() => {
      server = sharedPostgres();
    });

    it("an agent unfinished at finalize worked to the run's end", async () => {
      const dir = await epic();
      const { url, name } = await server.createDatabase("history_unfinished");
      await finalizedWithOneUnfinished(
        (args) =>
          ok([...args, "--dir", dir], { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "EPIC-H" }),
        async (agentId) => {
          await server.sql(
            name,
            `UPDATE parallel_progress.agents SET state = jsonb_set(state, '{startedAt}',
               to_jsonb(to_char((state->>'startedAt')::timestamptz AT TIME ZONE 'UTC' - interval '3 minutes',
                                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
             WHERE agent_id = $1`,
            [agentId],
          );
        },
      );
    });
  });
});
