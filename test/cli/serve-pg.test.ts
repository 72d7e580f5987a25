import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../serve/serve-process.js";
import { openEvents } from "../serve/sse-client.js";
import { runCli, spawnCli } from "../support/cli.js";
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
