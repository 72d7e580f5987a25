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
    // Inits three at a time (each as its own process; the store takes them in turn) until the latest
    // run shares its id's base, the second it names, with a run it replaced: on a loaded machine one
    // init after another may each take more than a second.
    const base = (id: string) => id.slice(0, "impl-bac-163000".length);
    const latestId = async () => {
      const status = await call("status", "--json");
      expect(status.code, status.stderr).toBe(0);
      return (JSON.parse(status.stdout) as { agents: { agentId: string }[] }).agents[0]!.agentId;
    };
    const made: string[] = [];
    let newer = "";
    let older: string | undefined;
    for (let tries = 0; tries < 20 && older === undefined; tries++) {
      made.push(...(await Promise.all([init(), init(), init()])));
      newer = await latestId();
      older = made.find((id) => id !== newer && base(id) === base(newer));
    }
    expect(older, "two inits within one second").toBeDefined();
    expect(new Set(made).size, "no id given twice").toBe(made.length);
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
    const late = await call("update", older!, "--status", "in_progress", "--files", "1/2");
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(new RegExp(`^parallel-progress: error: unknown agent "${older}": `));
    const after = await run();
    expect(after).toEqual(before);
    expect(after.agents.map((agent) => agent.agentId)).toEqual([newer]);
  }, 60_000);
});
