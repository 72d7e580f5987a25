import { beforeAll, describe, expect, it } from "vitest";
import { keptChangeFiles, runCli } from "../support/cli.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * Changes kept on a machine's disk while the database did not answer, applied by several processes of that
 * machine at once once it answers (retries and an agent's next change): each once, in the order made.
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the kept-change race tests: ${skip}`);

describe.skipIf(skip)("kept changes replayed by several processes at once", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_replay_race");

  beforeAll(() => {
    server = sharedPostgres();
  });

  it("applies each kept change once and in order, whoever applies it, before the change that follows", async () => {
    const { url, name } = await server.createDatabase("replay_race");
    const env = cli.env(url, "E-RACE");
    const dir = await cli.folder();
    const init = await runCli(["init", "--epic", "E-RACE", "--domains", "api", "--dir", dir], { env });
    expect(init.code, init.stderr).toBe(0);
    const away = await cli.away(env);
    const kept = 6;
    for (let n = 1; n <= kept; n++) {
      const args = ["update", "api", "--status", "in_progress", "--files", `${n}/10`, "--dir", dir];
      const result = await runCli(args, { env: away });
      expect(result.code, result.stderr).toBe(0);
    }
    expect(await keptChangeFiles(dir)).toHaveLength(kept);

    const calls = [
      ...Array.from({ length: 3 }, () => ["retry"]),
      ["update", "api", "--status", "in_progress", "--files", "9/10"],
    ];
    const results = await Promise.all(calls.map((args) => runCli([...args, "--dir", dir], { env })));
    for (const result of results) expect([0, 3], result.stderr).toContain(result.code);
    expect(results.at(-1)!.code, results.at(-1)!.stderr).toBe(0);

    expect(await keptChangeFiles(dir)).toEqual([]);
    const events = await server.sql<{ seq: number }>(
      name,
      "SELECT seq::int AS seq FROM parallel_progress.events ORDER BY seq",
    );
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: kept + 2 }, (_, i) => i + 1));
    // The change made after them came last: the agent's files are its.
    const status = await runCli(["status", "--json", "--dir", dir], { env });
    expect(JSON.parse(status.stdout).agents[0]).toMatchObject({ filesCompleted: 9, filesTotal: 10 });
  });

  it("keeps a change the database cannot take now (read-only, as a standby after a failover) and applies it later", async () => {
    const { url, name } = await server.createDatabase("read_only");
    const env = cli.env(url, "E-RO");
    const dir = await cli.folder();
    const init = await runCli(["init", "--epic", "E-RO", "--domains", "api", "--dir", dir], { env });
    expect(init.code, init.stderr).toBe(0);
    await server.sql("postgres", `ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
    const update = ["update", "api", "--status", "in_progress", "--files", "3/4", "--dir", dir];
    const kept = await runCli(update, { env });
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr.trim().split("\n"), kept.stderr).toHaveLength(1);
    expect(kept.stderr).toMatch(/read-only transaction.*the change is kept/);
    expect(kept.stderr).not.toMatch(/internal error|\n\s+at /);
    await server.sql("postgres", `ALTER DATABASE "${name}" RESET default_transaction_read_only`);
    const retry = await runCli(["retry", "--dir", dir], { env });
    expect(retry.code, retry.stderr).toBe(0);
    const status = await runCli(["status", "--json", "--dir", dir], { env });
    expect(JSON.parse(status.stdout).agents[0]).toMatchObject({ filesCompleted: 3, filesTotal: 4 });
  });
});
