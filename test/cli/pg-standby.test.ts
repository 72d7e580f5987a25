import { beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/cli.js";
import { type Machine, machinesUnavailable } from "../support/machine.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

const skip = postgresUnavailable() ?? (await machinesUnavailable());
if (skip) console.warn(`skipping the standby writer tests: ${skip}`);

const MARKER = /<!-- parallel-progress:progress run=\S+ seq=(\d+) -->\s*$/;

/**
 * A background writer killed on one machine (a runner ending its job) is not seen gone from another: a
 * change made there after the kill starts a standby writer, which takes the claim over once it expires and
 * brings the issue to the run's latest state with no further command; beside a live writer it ends
 * without writing.
 */
describe.skipIf(skip)("the standby writer (PostgreSQL store, machines in their own pid namespaces)", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_standby");

  beforeAll(() => {
    server = sharedPostgres();
  });

  const seqOf = async (name: string) =>
    Number(
      (await server.sql<{ seq: string }>(name, "SELECT seq::text AS seq FROM parallel_progress.runs"))[0]
        ?.seq,
    );
  const flusherOf = async (name: string) =>
    (
      await server.sql<{ flusher: { owner: string; pid?: number } | null }>(
        name,
        "SELECT run_state -> 'sync' -> 'flusher' AS flusher FROM parallel_progress.runs",
      )
    )[0]?.flusher ?? null;
  const progress = (issue: number) =>
    cli.gh.comments("acme/widgets", issue).filter((c) => MARKER.test(c.body));
  const commentSeq = (issue: number) =>
    Math.max(0, ...progress(issue).map((c) => Number(MARKER.exec(c.body)?.[1] ?? 0)));
  const writers = async (machine: Machine, standby: boolean) =>
    (await machine.processes()).filter(
      (p) => p.argv.includes("__flush") && p.argv.includes("--standby") === standby,
    );
  /** The times of the writes to the issue's comments (POST or PATCH), in order. */
  const writeTimes = () =>
    cli.gh.requests
      .filter((r) => r.method === "POST" || r.method === "PATCH")
      .filter((r) => r.path.includes("/comments"))
      .map((r) => r.at);

  /** A run on issue `issue`, started on `host`, whose writes are `interval` ms apart. */
  const start = async (
    host: Machine,
    env: Record<string, string>,
    epic: string,
    issue: number,
    interval: number,
  ) => {
    const init = await host.cli(
      [
        "init",
        "--epic",
        epic,
        "--domains",
        "a,b",
        "--issue",
        String(issue),
        "--repo",
        "acme/widgets",
        "--min-interval",
        String(interval),
      ],
      env,
    );
    expect(init.code, init.stderr).toBe(0);
  };

  /** Changes on `host` until its background writer holds the claim (marked with its pid): that writer. */
  const writerHoldingClaim = async (host: Machine, env: Record<string, string>, name: string) => {
    for (let files = 1; files <= 2; files++) {
      const update = await host.cli(["update", "a", "--status", "in_progress", "--files", `${files}/9`], env);
      expect(update.code, update.stderr).toBe(0);
    }
    expect(await waitFor(async () => (await flusherOf(name))?.pid !== undefined, 20_000)).toBe(true);
    const [writer] = await writers(host, false);
    expect(writer).toBeDefined();
    return writer!;
  };

  /** One change on `host`, which leaves its write to another machine's writer and starts a standby. */
  const changeStartingStandby = async (host: Machine, env: Record<string, string>) => {
    const args = ["update", "b", "--status", "in_progress", "--files", "1/9", "--verbose"];
    const change = await host.cli(args, env);
    expect(change.code, change.stderr).toBe(0);
    expect(change.stderr).toMatch(/standby writer started/);
  };

  it("brings another machine's change to the issue when the writer holding the claim was killed", async () => {
    cli.gh.reset();
    const { url, name } = await server.createDatabase("standby_kill");
    const env = cli.env(url, "EPIC-SK");
    const [a, b] = await Promise.all([cli.machine("sk-a"), cli.machine("sk-b")]);
    await start(a, env, "EPIC-SK", 123, 5000);
    // A's writer waits for its write to fall due (5 s apart); it dies holding the claim.
    const writer = await writerHoldingClaim(a, env, name);
    process.kill(writer.pid, "SIGKILL");
    expect(await waitFor(async () => (await writers(a, false)).length === 0, 10_000)).toBe(true);
    expect((await flusherOf(name))?.owner).toBeDefined();
    // One change on B, no further command: its claim lasts up to 15 s yet.
    await changeStartingStandby(b, env);
    const last = await seqOf(name);
    expect(last).toBe(4);
    expect(await waitFor(() => commentSeq(123) === last, 45_000, 200)).toBe(true);
    expect(progress(123)).toHaveLength(1);
    // The standby became the writer, and ended once the issue was up to date.
    expect(await waitFor(async () => (await writers(b, true)).length === 0, 20_000)).toBe(true);
    expect(await flusherOf(name)).toBeNull();
  }, 90_000);

  it("takes over from a writer killed mid-request, holding the write lease and the claim", async () => {
    cli.gh.reset();
    const { url, name } = await server.createDatabase("standby_lease");
    const env = cli.env(url, "EPIC-SW");
    const [a, b] = await Promise.all([cli.machine("sw-a"), cli.machine("sw-b")]);
    await start(a, env, "EPIC-SW", 123, 3000);
    // GitHub hangs: A's writer takes the lease for its edit and waits on it; it dies there.
    cli.gh.setFaults({ hang: true });
    const writer = await writerHoldingClaim(a, env, name);
    const lease = async () =>
      (
        await server.sql<{ owner: string | null }>(
          name,
          "SELECT run_state -> 'sync' -> 'lease' ->> 'owner' AS owner FROM parallel_progress.runs",
        )
      )[0]?.owner ?? null;
    expect(await waitFor(async () => (await lease()) === (await flusherOf(name))?.owner, 20_000)).toBe(true);
    process.kill(writer.pid, "SIGKILL");
    cli.gh.clearFaults();
    await changeStartingStandby(b, env);
    const last = await seqOf(name);
    expect(await waitFor(() => commentSeq(123) === last, 45_000, 200)).toBe(true);
    expect(progress(123)).toHaveLength(1);
    expect(await waitFor(async () => (await writers(b, true)).length === 0, 30_000)).toBe(true);
  }, 90_000);

  it("ends without writing beside a live writer of another machine", async () => {
    cli.gh.reset();
    const { url, name } = await server.createDatabase("standby_live");
    const env = cli.env(url, "EPIC-SL");
    const [a, b] = await Promise.all([cli.machine("sl-a"), cli.machine("sl-b")]);
    await start(a, env, "EPIC-SL", 123, 5000);
    await writerHoldingClaim(a, env, name);
    await changeStartingStandby(b, env);
    const last = await seqOf(name);
    // A's writer writes the latest state, B's change in it; the standby then finds nothing owed and ends.
    expect(await waitFor(() => commentSeq(123) === last, 20_000, 100)).toBe(true);
    expect(await waitFor(async () => (await writers(b, true)).length === 0, 30_000)).toBe(true);
    expect(progress(123)).toHaveLength(1);
    const times = writeTimes();
    expect(times).toHaveLength(2); // init's post, and A's writer's edit
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(5000 - 50);
    expect(await flusherOf(name)).toBeNull();
  }, 90_000);

  it("starts one standby per machine at most in a burst of 85 changes on 4 machines", async () => {
    cli.gh.reset();
    const { url, name } = await server.createDatabase("standby_burst");
    const env = cli.env(url, "EPIC-SB");
    const hosts = await Promise.all(["sb-1", "sb-2", "sb-3", "sb-4"].map(cli.machine));
    const init = await hosts[0]!.cli(
      ["init", "--epic", "EPIC-SB", "--domains", "a,b,c,d", "--issue", "123", "--repo", "acme/widgets"],
      env,
    );
    expect(init.code, init.stderr).toBe(0);
    // 84 updates, 21 on each machine, the machines at once: with init, 85 changes.
    const started = await Promise.all(
      hosts.map(async (host, i) => {
        let standbys = 0;
        for (let n = 1; n <= 21; n++) {
          const args = ["update", "abcd"[i]!, "--status", "in_progress", "--files", `${n}/21`, "--verbose"];
          const update = await host.cli(args, env);
          expect(update.code, update.stderr).toBe(0);
          standbys += update.stderr.match(/standby writer started/g)?.length ?? 0;
        }
        return standbys;
      }),
    );
    for (const count of started) expect(count).toBeLessThanOrEqual(1);
    const last = await seqOf(name);
    expect(last).toBe(85);
    expect(await waitFor(() => commentSeq(123) === last, 30_000, 100)).toBe(true);
    // Every writer and standby ends once the issue is up to date.
    for (const host of hosts) {
      expect(await waitFor(async () => (await host.processes()).length === 0, 30_000)).toBe(true);
    }
    expect(progress(123)).toHaveLength(1);
    const times = writeTimes();
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000 - 50);
  }, 120_000);
});
