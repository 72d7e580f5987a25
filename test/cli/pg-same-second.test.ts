import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * Two runs of one epic started within the same second of the database's clock share the guide's
 * `impl-xxx-HHMMSS` base: the newer takes other ids, so an agent of the older one reporting by its id is
 * refused (exit 2, unknown agent) instead of changing the newer run.
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the same-second PostgreSQL CLI test: ${skip}`);

describe.skipIf(skip)("runs of one epic started in the same second, on PostgreSQL", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_same_second");

  beforeAll(() => {
    server = sharedPostgres();
  });

  it("give no agent id again: the replaced run's agent is refused, the new run untouched", async () => {
    const { url } = await server.createDatabase("same");
    const dir = await cli.folder();
    const env = { PARALLEL_PROGRESS_STORE: url, GITHUB_TOKEN: "" };
    const call = (...args: string[]) => runCli([...args, "--dir", dir, "--epic", "E-SAME"], { env });
    const init = async () => {
      const result = await call("init", "--domains", "backend", "--force");
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.trim().split("\t")[1]!;
    };
    // Inits one after another until two fall within one second (the id's base names the second).
    const base = (id: string) => id.slice(0, "impl-bac-163000".length);
    let older = await init();
    let newer = await init();
    for (let tries = 0; tries < 20 && base(newer) !== base(older); tries++) {
      older = newer;
      newer = await init();
    }
    expect(base(newer), "two inits within one second").toBe(base(older));
    expect(newer).not.toBe(older);
    expect(newer).toMatch(/^impl-bac-\d{6}-\d+$/);

    // The run as status --json shows it, but for the time since each agent's last report.
    const run = async () => {
      const status = await call("status", "--json");
      expect(status.code, status.stderr).toBe(0);
      const state = JSON.parse(status.stdout) as { seq: number; agents: Record<string, unknown>[] };
      for (const agent of state.agents) delete agent.silentForMs;
      return state;
    };
    const before = await run();
    const late = await call("update", older, "--status", "in_progress", "--files", "1/2");
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(new RegExp(`^parallel-progress: error: unknown agent "${older}": `));
    const after = await run();
    expect(after).toEqual(before);
    expect(after.agents.map((agent) => agent.agentId)).toEqual([newer]);
  }, 60_000);
});
