import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../serve/serve-process.js";
import { openEvents } from "../serve/sse-client.js";
import { runCli, spawnCli, waitFor } from "../support/cli.js";
import { startFreezingProxy } from "../support/pg-freeze.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the serve-with-PostgreSQL test: ${skip}`);

describe.skipIf(skip)("serve with a database store (--store, --epic)", () => {
  let server: PostgresDatabases;
  let serveDir: string;
  let agentDir: string;

  beforeAll(async () => {
    server = sharedPostgres();
    // The page and the agent on different "machines": nothing shared but the database.
    serveDir = await mkdtemp(join(tmpdir(), "pp-serve-pg-"));
    agentDir = await mkdtemp(join(tmpdir(), "pp-agent-pg-"));
  });
  afterAll(async () => {
    await rm(serveDir, { recursive: true, force: true });
    await rm(agentDir, { recursive: true, force: true });
  });

  it("follows the epic's run through LISTEN/NOTIFY: a change made elsewhere reaches the page", async () => {
    const { url } = await server.createDatabase("serve");
    const store = ["--store", url, "--epic", "E-PG"];
    const init = await runCli(["init", "--domains", "api,web", ...store, "--dir", agentDir]);
    expect(init.code, init.stderr).toBe(0);
    const serve = await startServe([...store, "--dir", serveDir, "--port", "0"]);
    try {
      const stream = await openEvents(`${serve.url}events`);
      const snapshot = (await stream.next((e) => e.event === "snapshot")).data as {
        view: { run: { epicId: string } };
      };
      expect(snapshot.view.run.epicId).toBe("E-PG");
      const update = await runCli([
        "update",
        "api",
        "--status",
        "in_progress",
        "--files",
        "2/5",
        ...store,
        "--dir",
        agentDir,
      ]);
      expect(update.code, update.stderr).toBe(0);
      const change = (await stream.next((e) => e.event === "change")).data as {
        rows: { changed: { domain: string; filesCompleted: number }[] };
      };
      expect(change.rows.changed).toEqual([expect.objectContaining({ domain: "api", filesCompleted: 2 })]);
      stream.close();
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  it("shows a run again once its role may see it again (a grant revoked, then given back), with no change to wake it", async () => {
    const { url, name } = await server.createDatabase("serve_regrant");
    const role = `srg_${randomBytes(3).toString("hex")}`; // roles are the server's: a name of its own
    await server.sql(name, `CREATE ROLE ${role} LOGIN PASSWORD '${role}-pw'`);
    const db = async (verb: string) => {
      const result = await runCli(["db", verb, role, "--repo", "acme/widgets", "--store", url]);
      expect(result.code, result.stderr).toBe(0);
    };
    /** A call by the owner (who sees every run), from the agents' machine. */
    const owner = async (...args: string[]) => {
      const result = await runCli([...args, "--store", url, "--epic", "E-RG", "--dir", agentDir]);
      expect(result.code, result.stderr).toBe(0);
    };
    await db("grant");
    await owner("init", "--domains", "api", "--repo", "acme/widgets");
    const roleUrl = server.url(name, { name: role, password: `${role}-pw` });
    const serve = await startServe(["--store", roleUrl, "--epic", "E-RG", "--dir", serveDir, "--port", "0"]);
    try {
      const stream = await openEvents(`${serve.url}events`);
      type Snapshot = { view: { run: { runId: string } } | null };
      const snapshot = (from: number, seen: boolean) =>
        stream.next(
          (e) => e.event === "snapshot" && ((e.data as Snapshot).view !== null) === seen,
          from,
          15_000,
        );
      const first = (await snapshot(0, true)).data as Snapshot;

      // Revoked, the run's next change shows the role no run.
      let from = stream.events.length;
      await db("revoke");
      await owner("update", "api", "--status", "in_progress", "--files", "1/4");
      await snapshot(from, false);
      // Given back, the run shows again with no change made: it is read again until it is seen.
      from = stream.events.length;
      await db("grant");
      expect(((await snapshot(from, true)).data as Snapshot).view?.run.runId).toBe(first.view?.run.runId);

      // Revoked while a new run replaces it: the new run is looked for until the role may see it, and
      // its changes reach the page.
      from = stream.events.length;
      await db("revoke");
      await owner("init", "--domains", "api", "--repo", "acme/widgets", "--force");
      await snapshot(from, false);
      from = stream.events.length;
      await db("grant");
      const replaced = (await snapshot(from, true)).data as Snapshot;
      expect(replaced.view?.run.runId).not.toBe(first.view?.run.runId);
      await owner("update", "api", "--status", "in_progress", "--files", "3/4");
      const change = (await stream.next((e) => e.event === "change", from)).data as {
        rows: { changed: { domain: string; filesCompleted: number }[] };
      };
      expect(change.rows.changed).toEqual([expect.objectContaining({ domain: "api", filesCompleted: 3 })]);
      stream.close();
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  }, 90_000);

  it.each(["SIGTERM", "SIGINT"] as const)(
    "ends with exit 0 on %s given while it starts on a database that does not answer",
    async (signal) => {
      const { url } = await server.createDatabase("serve_frozen_start");
      const proxy = await startFreezingProxy(server.port);
      try {
        proxy.freeze(); // no answer from the start: not even to the connection's start-up
        // A connect timeout longer than the child's 30 s life: only the signal can end it in time.
        const frozen = `${proxy.url(url)}?connect_timeout=120`;
        const serve = spawnCli([
          "serve",
          "--store",
          frozen,
          "--epic",
          "E-S",
          "--dir",
          serveDir,
          "--port",
          "0",
          "--verbose",
        ]);
        // Its first read is waiting on the database.
        expect(await waitFor(async () => proxy.accepted > 0, 20_000, 20)).toBe(true);
        serve.child.kill(signal);
        const served = await serve.done;
        expect([served.code, served.signal]).toEqual([0, null]);
        expect(served.stderr).toContain(`stopping (${signal})`);
        expect(served.stdout).not.toContain("listening");
      } finally {
        await proxy.close();
      }
    },
    60_000,
  );

  it("ends at once on SIGTERM, and watch at its --timeout, while the database hangs (a frozen host)", async () => {
    const { url } = await server.createDatabase("serve_frozen");
    expect(
      (await runCli(["init", "--domains", "api", "--store", url, "--epic", "E-F", "--dir", agentDir])).code,
    ).toBe(0);
    const proxy = await startFreezingProxy(server.port);
    try {
      const store = ["--store", proxy.url(url), "--epic", "E-F"];
      const serve = await startServe([...store, "--dir", serveDir, "--port", "0"]);
      const watch = spawnCli(["watch", "--timeout", "3", ...store, "--dir", serveDir]);
      const watching = new Promise((resolve) => watch.child.stdout.once("data", resolve));
      const stream = await openEvents(`${serve.url}events`);
      await stream.next((e) => e.event === "snapshot");
      await watching; // its first line: it has read the run
      proxy.freeze();
      serve.child.kill("SIGTERM");
      // serve ends before watch reaches its --timeout: it waits for no answer (a query in flight, a
      // goodbye) longer than a second, not the client's whole wait for one (12 s).
      const ended: string[] = [];
      const finish = async <T>(name: string, done: Promise<T>): Promise<T> => {
        const result = await done;
        ended.push(name);
        return result;
      };
      const [served, watched] = await Promise.all([finish("serve", serve.done), finish("watch", watch.done)]);
      expect([served.code, watched.code]).toEqual([0, 0]);
      expect(ended).toEqual(["serve", "watch"]);
      // Its last read, cut by its own ending, is no trouble to tell of.
      expect(watched.stderr).not.toContain("cannot read the run");
    } finally {
      await proxy.close();
    }
  });
});
