import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { usePostgresCli } from "../support/pg-cli.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * A machine whose clock is an hour ahead of the database's looks at a shared run: `status` draws it at
 * the database's time, as the table is, so a live agent is not marked stalled and no ETA is made
 * up from the gap. (The clock is shifted in the `status` process only, by a preloaded script.)
 */

const skip = postgresUnavailable();
if (skip) console.warn(`skipping the PostgreSQL clock CLI test: ${skip}`);

const HOUR = 3_600_000;

describe.skipIf(skip)("status on a machine whose clock is off, with a database store", () => {
  let server: PostgresDatabases;
  const cli = usePostgresCli("ghp_clock");

  beforeAll(() => {
    server = sharedPostgres();
  });

  it("draws the run at the database's time: no false stalled mark, no made-up ETA", async () => {
    const { url } = await server.createDatabase("clock");
    const dir = await cli.folder();
    const ahead = join(dir, "clock-ahead.cjs");
    await writeFile(ahead, `const real = Date.now; Date.now = () => real() + ${HOUR};\n`);
    const env = { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "E-CLOCK", GITHUB_TOKEN: "" };
    const call = (args: string[], extra: Record<string, string> = {}) =>
      runCli([...args, "--dir", dir], { env: { ...env, ...extra } });
    const init = await call(["init", "--domains", "a,b"]);
    expect(init.code, init.stderr).toBe(0);
    const [a, b] = init.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t")[1]!);
    for (const [agent, done] of [
      [a!, "1"],
      [b!, "2"],
    ] as const) {
      const update = await call(["update", agent, "--status", "in_progress", "--files", `${done}/10`]);
      expect(update.code, update.stderr).toBe(0);
    }

    const skewed = { NODE_OPTIONS: `--require ${ahead}` };
    const json = await call(["status", "--json"], skewed);
    expect(json.code, json.stderr).toBe(0);
    const view = JSON.parse(json.stdout) as {
      stalled: number;
      etaMs: number | null;
      agents: { stalled: boolean; silentForMs: number }[];
    };
    expect(view.stalled).toBe(0);
    expect(view.etaMs).toBeNull();
    for (const agent of view.agents) {
      expect(agent.stalled).toBe(false);
      expect(agent.silentForMs).toBeLessThan(HOUR / 2);
    }
    for (const format of [[], ["--markdown"]]) {
      const shown = await call(["status", ...format], skewed);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).not.toMatch(/stalled/i);
      expect(shown.stdout).not.toMatch(/ETA/);
    }
  });
});
