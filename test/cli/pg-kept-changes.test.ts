import { beforeAll, describe, expect, it } from "vitest";
import { keptChangeFiles, runCli, spawnCli, stopFlushers, waitFor } from "../support/cli.js";
import { silentServer } from "../support/loopback.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * Changes kept on a machine's disk while the database did not answer, as they meet what other machines
 * did meanwhile: when a kept change counts as made.
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the kept-change tests: ${skip}`);

describe.skipIf(skip)("changes kept while the database does not answer", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_kept_changes");

  beforeAll(() => {
    server = sharedPostgres();
  });

  /** A database, a run of agents `domains` on it, started from a folder of its own, and a second folder. */
  async function twoMachines(prefix: string, epic: string, domains: string) {
    const { url, name } = await server.createDatabase(prefix);
    const env = cli.env(url, epic);
    const first = await cli.folder();
    const init = await runCli(["init", "--epic", epic, "--domains", domains, "--dir", first], { env });
    expect(init.code, init.stderr).toBe(0);
    return { url, name, env, first, second: await cli.folder() };
  }

  const statusOf = async (dir: string, env: Record<string, string>) =>
    JSON.parse((await runCli(["status", "--json", "--dir", dir], { env })).stdout) as {
      completedAt: string | null;
      agents: { domain: string; status: string; filesCompleted: number }[];
    };

  it("counts a kept change as made when its command was given, not when the database was given up on", async () => {
    const { url, env, first, second } = await twoMachines("made_at", "E-MADE", "a,b");
    // The first machine's path to the database takes the connection and never answers (3 s to connect).
    const silent = await silentServer();
    try {
      const stuck = new URL(url);
      stuck.port = String(silent.port);
      stuck.searchParams.set("connect_timeout", "3");
      const update = ["update", "a", "--status", "in_progress", "--files", "1/4", "--dir", first];
      const older = spawnCli(update, { env: { ...env, PARALLEL_PROGRESS_STORE: stuck.toString() } });
      let olderDone = false;
      void older.done.then(() => (olderDone = true));
      expect(await waitFor(() => silent.accepted() > 0, 15_000, 20)).toBe(true);
      // Meanwhile the second machine reaches the database: its report is the newer one.
      const complete = await runCli(["complete", "a", "--dir", second], { env });
      expect(complete.code, complete.stderr).toBe(0);
      expect(olderDone).toBe(false); // the update was still waiting to connect: it is the older report
      const kept = await older.done;
      expect(kept.code, kept.stderr).toBe(0);
      expect(kept.stderr).toMatch(/the change is kept/);
      await stopFlushers(first);
    } finally {
      await silent.close();
    }
    expect(await keptChangeFiles(first)).toHaveLength(1);
    const retry = await runCli(["retry", "--dir", first], { env });
    expect(retry.code, retry.stderr).toBe(0);
    expect(await keptChangeFiles(first)).toEqual([]);
    const status = await statusOf(first, env);
    expect(status.agents.find((agent) => agent.domain === "a")).toMatchObject({ status: "completed" });
    const events = (await runCli(["status", "--markdown", "--dir", first], { env })).stdout;
    expect(events).toMatch(
      /not applied: update in\\_progress 1\/4, made .* is older than the agent's last report/,
    );
  }, 60_000);
});
