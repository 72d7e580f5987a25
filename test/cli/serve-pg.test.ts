import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe } from "../serve/serve-process.js";
import { openEvents } from "../serve/sse-client.js";
import { runCli } from "../support/cli.js";
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
});
