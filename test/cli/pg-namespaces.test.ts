import { beforeAll, describe, expect, it } from "vitest";
import { keptChangeFiles, waitFor } from "../support/cli.js";
import { machinesUnavailable } from "../support/machine.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

const skip = postgresUnavailable() ?? (await machinesUnavailable());
if (skip) console.warn(`skipping the many-machines tests: ${skip}`);

const MARKER = /<!-- parallel-progress:progress run=\S+ seq=(\d+) -->\s*$/;

describe.skipIf(skip)("machines in their own pid namespaces sharing one PostgreSQL run", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_namespaces");

  beforeAll(() => {
    server = sharedPostgres();
  });

  const seqOf = async (name: string) =>
    Number(
      (
        await server.sql<{ seq: string }>(
          name,
          "SELECT seq::text AS seq FROM parallel_progress.runs ORDER BY id DESC LIMIT 1",
        )
      )[0]?.seq,
    );
  const commentSeq = (issue: number) =>
    Math.max(0, ...cli.gh.comments("acme/widgets", issue).map((c) => Number(MARKER.exec(c.body)?.[1] ?? 0)));

  it("runs many machines at once into one run and one comment", async () => {
    const { url, name } = await server.createDatabase("ns_many");
    const env = cli.env(url, "EPIC-NS");
    const hosts = await Promise.all(["alpha", "beta", "gamma"].map(cli.machine));
    const init = await hosts[0]!.cli(
      [
        "init",
        "--epic",
        "EPIC-NS",
        "--domains",
        "a1,a2,b1,b2,c1,c2",
        "--issue",
        "123",
        "--repo",
        "acme/widgets",
      ],
      env,
    );
    expect(init.code, init.stderr).toBe(0);
    // Six agents on three machines, all at once: two updates each, then complete.
    await Promise.all(
      hosts.map(async (host, i) => {
        const domains = [`${"abc"[i]}1`, `${"abc"[i]}2`];
        await Promise.all(
          domains.map(async (domain) => {
            for (let n = 1; n <= 2; n++) {
              const r = await host.cli(
                ["update", domain, "--status", "in_progress", "--files", `${n}/2`],
                env,
              );
              expect(r.code, r.stderr).toBe(0);
            }
            expect((await host.cli(["complete", domain], env)).code).toBe(0);
          }),
        );
      }),
    );
    const last = await seqOf(name);
    expect(last).toBe(1 + 6 * 3);
    expect(await waitFor(() => commentSeq(123) === last, 30_000)).toBe(true);
    const comments = cli.gh.comments("acme/widgets", 123);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain("100% (12/12 files)");
  });

  it("takes over the lease of a machine killed while it was writing, once the lease expires", async () => {
    cli.gh.reset();
    const { url, name } = await server.createDatabase("ns_kill");
    const env = cli.env(url, "EPIC-KILL");
    const [doomed, survivor] = await Promise.all([cli.machine("doomed"), cli.machine("survivor")]);
    const init = await survivor.cli(
      [
        "init",
        "--epic",
        "EPIC-KILL",
        "--domains",
        "api,web",
        "--issue",
        "123",
        "--repo",
        "acme/widgets",
        "--min-interval",
        "0",
      ],
      env,
    );
    expect(init.code, init.stderr).toBe(0);
    await waitFor(() => commentSeq(123) >= 1, 20_000);
    // GitHub hangs: the doomed machine's call takes the lease and waits on its write; then it dies.
    cli.gh.setFaults({ hang: true });
    const hanging = doomed.start(["update", "api", "--status", "in_progress", "--files", "1/2"], env);
    const leaseOwner = async () =>
      (
        await server.sql<{ owner: string | null }>(
          name,
          "SELECT run_state -> 'sync' -> 'lease' ->> 'owner' AS owner FROM parallel_progress.runs",
        )
      )[0]?.owner ?? null;
    expect(await waitFor(async () => (await leaseOwner()) !== null, 20_000)).toBe(true);
    const deadOwner = await leaseOwner();
    await doomed.kill();
    await hanging;
    cli.gh.clearFaults();
    // The dead machine's claims run out as 15 s on the database's clock would make them: expired now.
    await server.sql(
      name,
      `UPDATE parallel_progress.runs SET revision = revision + 1, run_version = run_version + 1,
         run_state = jsonb_set(run_state, '{sync}',
         (SELECT jsonb_object_agg(key, CASE WHEN key IN ('lease', 'flusher', 'retryLock') AND jsonb_typeof(value) = 'object'
            THEN jsonb_set(value, '{expiresAt}', to_jsonb((extract(epoch FROM now()) * 1000)::bigint - 1))
            ELSE value END) FROM jsonb_each(run_state -> 'sync')))`,
    );
    const after = await survivor.cli(["update", "web", "--status", "in_progress", "--files", "1/2"], env);
    expect(after.code, after.stderr).toBe(0);
    const last = await seqOf(name);
    expect(await waitFor(() => commentSeq(123) === last, 40_000, 100)).toBe(true);
    expect(await leaseOwner()).not.toBe(deadOwner);
    expect(cli.gh.comments("acme/widgets", 123)).toHaveLength(1);
  }, 90_000);

  it("keeps a machine's changes on its own disk while the database is unreachable from it", async () => {
    const { url, name } = await server.createDatabase("ns_unreachable");
    const host = await cli.machine("island");
    const env = cli.env(url, "EPIC-U");
    const init = await host.cli(["init", "--epic", "EPIC-U", "--domains", "api"], env);
    expect(init.code, init.stderr).toBe(0);
    // A port where nothing listens: the database is unreachable from this machine.
    const away = await cli.away(env);
    const offline = await host.cli(["update", "api", "--status", "in_progress", "--files", "1/3"], away);
    expect(offline.code).toBe(0);
    expect(offline.stderr).toMatch(/not answering.*kept in/);
    expect(await seqOf(name)).toBe(1);
    // Kept in the machine's own directory (its --dir by default: where the call runs).
    expect(await keptChangeFiles(host.dir)).toHaveLength(1);
    const back = await host.cli(["update", "api", "--status", "in_progress", "--files", "2/3"], env);
    expect(back.code, back.stderr).toBe(0);
    expect(await seqOf(name)).toBe(3);
  });
});
