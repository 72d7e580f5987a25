import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

const run = promisify(execFile);

/**
 * `runStore.subscribe(listener)` with a listener that throws, in a long-lived process that keeps going
 * after an uncaught exception (an `uncaughtException` handler, as orchestration code often has). Its
 * error is the process's uncaught exception, as from any event handler, and the subscription goes on: it
 * once stopped where the store had work to do after the call (a watch renewed once the epic directory
 * came back, a reconnection after a dropped connection, the move to a new run), and a reconnection
 * whose listener threw was taken for a failed one and made again, a new connection every two seconds.
 * Each case runs in a child process (an uncaught exception would fail the test run itself).
 */

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/**
 * The child: a run of epic E in `dir` (on the database at `storeUrl`, when given) followed by a listener
 * that counts its calls and always throws; `steps` are run in turn, each followed by a change of the run,
 * and the child says, for each, whether the listener heard that change (waiting up to 10 s for it).
 */
const child = (dir: string, storeUrl: string | null, steps: string) => `
import { mkdirSync, rmSync } from "node:fs";
const lib = await import(${JSON.stringify(join(process.cwd(), "src/index.ts"))});
const pg = (await import("pg")).default;
const uncaught = [];
process.on("uncaughtException", (error) => uncaught.push(error.message));
const dir = ${JSON.stringify(dir)};
const storeUrl = ${JSON.stringify(storeUrl)};
const store = storeUrl ? lib.createPostgresStore({ url: storeUrl, epicId: "E" }) : null;
const reporter = () => lib.createParallelReporter(dir, { env: {}, ...(store ? { store } : {}) });
await reporter().initializeParallelTracking("E", ["a"]);
let calls = 0;
const subscriber = store ?? reporter().runStore;
const stop = await subscriber.subscribe(() => {
  calls++;
  throw new Error("listener bug");
});
const until = async (check) => {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return check();
};
const heard = [];
let files = 0;
const change = async (step) => {
  const before = calls;
  await reporter().updateAgentProgress("a", "in_progress", ++files % 5, 5);
  heard.push([step, await until(() => calls > before)]);
};
await change("first");
${steps}
await stop();
await store?.close();
console.log(JSON.stringify({ heard, uncaught: [...new Set(uncaught)] }));
process.exit(0);
`;

async function runChild(storeUrl: string | null, steps: string) {
  const dir = await mkdtemp(join(tmpdir(), "pp-subscribe-"));
  folders.push(dir);
  const script = child(dir, storeUrl, steps);
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
  return JSON.parse(stdout) as { heard: [string, boolean][]; uncaught: string[] };
}

describe("a subscriber's listener that throws", () => {
  it("file store: the epic directory removed and made again is still followed", async () => {
    const result = await runChild(
      null,
      `
      // The directory gone: one call (which throws), then it is looked for until it is back.
      const before = calls;
      rmSync(dir, { recursive: true, force: true });
      await until(() => calls > before);
      mkdirSync(dir);
      const back = calls;
      await reporter().initializeParallelTracking("E", ["a"]);
      heard.push(["made again", await until(() => calls > back)]);
      await change("after");`,
    );
    expect(result).toEqual({
      heard: [
        ["first", true],
        ["made again", true],
        ["after", true],
      ],
      uncaught: ["listener bug"],
    });
  });

  it.skipIf(postgresUnavailable())(
    "PostgreSQL store: a dropped LISTEN connection is made again once, and a new run (init --force) is followed",
    async () => {
      const { url, name } = await sharedPostgres().createDatabase("subscribe");
      const result = await runChild(
        url,
        `
      const admin = new pg.Client({ connectionString: storeUrl });
      await admin.connect();
      const listening = async () =>
        (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query ~ '^(UN)?LISTEN '", [${JSON.stringify(name)}])).rows[0].n;
      // Dropped: one call (which throws); made again: one call more (a change may have been missed).
      const dropped = calls;
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %'", [${JSON.stringify(name)}]);
      heard.push(["made again", await until(async () => calls >= dropped + 2 && (await listening()) === 1)]);
      await change("after the drop");
      // A new run: the old run's channel says so (one call), and its changes are followed.
      const replaced = calls;
      await reporter().initializeParallelTracking("E", ["a"], undefined, { force: true });
      await until(() => calls > replaced);
      await change("new run");
      heard.push(["one connection", (await listening()) === 1]);
      await admin.end();`,
      );
      expect(result).toEqual({
        heard: [
          ["first", true],
          ["made again", true],
          ["after the drop", true],
          ["new run", true],
          ["one connection", true],
        ],
        uncaught: ["listener bug"],
      });
    },
  );
});
