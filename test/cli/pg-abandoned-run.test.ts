import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { runCli, spawnCli, waitFor } from "../support/cli.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL CLI tests: ${skip}`);

const ABANDONED = "**Run abandoned: a new run of the epic was started (init --force)**";

/** The queue files of `dir`, as their items. */
async function queued(dir: string): Promise<{ run_id: string; abandoned?: boolean }[]> {
  const folder = join(dir, ".github_parallel_queue");
  const names = (await readdir(folder).catch(() => [])).filter((name) => name.endsWith(".json"));
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(join(folder, name), "utf8"))));
}

describe.skipIf(skip)("init --force on a PostgreSQL store, and the run it abandons", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_pgabandonedrun");

  beforeAll(() => {
    server = sharedPostgres();
  });

  /** The progress comment of run `runId` (the file's fake GitHub, issue 123). */
  const progressOf = (runId: string) =>
    cli.gh.comments("acme/widgets", 123).filter((comment) => {
      const marker = parseMarker(comment.body);
      return marker?.kind === "progress" && marker.runId === runId;
    });

  it("killed (SIGKILL) while its transaction waits: the run stays, its mark queued first is never posted; a later init marks it", async () => {
    const { url } = await server.createDatabase("abandonkill");
    const env = cli.env(url, "K");
    const dir = await cli.folder();
    const target = ["--issue", "123", "--repo", "acme/widgets", "--dir", dir];
    const run = (...args: string[]) => runCli([...args, "--dir", dir], { env });
    const init = await run("init", "--domains", "a,b", ...target.slice(0, 4));
    expect(init.code, init.stderr).toBe(0);
    const agent = init.stdout.split("\n")[0]!.split("\t")[1]!;
    expect((await run("update", agent, "--status", "in_progress", "--files", "1/4")).code).toBe(0);
    const prev = JSON.parse((await run("status", "--json")).stdout).runId as string;
    expect(await waitFor(() => progressOf(prev)[0]?.body.includes("| 1/4 |") ?? false, 15_000)).toBe(true);

    // The epic's lock held elsewhere: the new run's transaction waits for it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", ["run:K"]);
      const killed = spawnCli(["init", "--domains", "c", "--force", ...target], { env });
      // Its mark is queued before the transaction, which then waits.
      const marked = async () => (await queued(dir)).some((item) => item.run_id === prev && item.abandoned);
      expect(await waitFor(marked, 10_000, 10)).toBe(true);
      const waiting = async () =>
        (await holder.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"))
          .rowCount === 1;
      expect(await waitFor(waiting, 10_000, 10)).toBe(true);
      killed.child.kill("SIGKILL");
      expect((await killed.done).signal).toBe("SIGKILL");
    } finally {
      await holder.end();
    }

    // Not replaced: a retry writes the run as it is, and the mark is never sent.
    const retry = await run("retry");
    expect(retry.code, retry.stderr).toBe(0);
    expect(JSON.parse((await run("status", "--json")).stdout).runId).toBe(prev);
    expect(progressOf(prev).map((comment) => comment.body.includes(ABANDONED))).toEqual([false]);
    expect(await queued(dir)).toEqual([]);

    // An init --force that commits marks it.
    const force = await run("init", "--domains", "d", "--force", ...target.slice(0, 4));
    expect(force.code, force.stderr).toBe(0);
    expect(force.stderr).toContain(`run ${prev} was abandoned (init --force)`);
    expect((await run("retry")).code).toBe(0);
    expect(progressOf(prev).map((comment) => comment.body.includes(ABANDONED))).toEqual([true]);
  }, 60_000);
});
