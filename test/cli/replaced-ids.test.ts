import { describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * An agent of a run that `init --force` replaced, still reporting by the id that run printed for it, is
 * refused (unknown agent, exit 2) instead of changing the new run: also when an agent of its domain is
 * added to the new run in the same second (a script restarting its run).
 */

const epic = useEpicDirs();
const noPostgres = postgresUnavailable();

type Cli = (args: string[]) => Promise<CliResult>;

/** `status --json`'s run without what changes as time passes (`silentForMs`). */
async function runView(cli: Cli) {
  const status = await cli(["status", "--json"]);
  expect(status.code, status.stderr).toBe(0);
  const json = JSON.parse(status.stdout);
  return {
    seq: json.seq,
    agents: json.agents.map((a: Record<string, unknown>) => [a.agentId, a.domain, a.status]),
  };
}

async function ok(cli: Cli, args: string[]): Promise<string> {
  const result = await cli(args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

/**
 * `init --domains a,b`, `init --force --domains c`, `add --domains a`, each a process of its own, tried
 * (with a fresh epic each time: `epicCli`) until the add falls in the second of the first init.
 */
async function addInTheReplacedRunsSecond(epicCli: () => Promise<Cli>) {
  for (let tries = 0; tries < 20; tries++) {
    const cli = await epicCli();
    const old = (await ok(cli, ["init", "--domains", "a,b"])).split("\n")[0]!.split("\t")[1]!;
    await ok(cli, ["init", "--force", "--domains", "c"]);
    const added = (await ok(cli, ["add", "--domains", "a"])).trim().split("\t")[1]!;
    if (!added.startsWith(old)) continue; // another second: its ids could not meet the first run's
    expect(added).toBe(`${old}-2`);
    const before = await runView(cli);
    const late = await cli(["update", old, "--status", "in_progress", "--files", "1/5"]);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(new RegExp(`^parallel-progress: error: unknown agent "${old}": `));
    expect(await runView(cli)).toEqual(before);
    return;
  }
  expect.fail("no add fell in the second of the run it followed in 20 tries");
}

describe("an agent added in the second of the run init --force replaced", () => {
  it("takes none of its ids (file store)", async () => {
    await addInTheReplacedRunsSecond(async () => {
      const dir = await epic();
      return (args) => runCli([...args, "--dir", dir, "--epic", "E"], { env: { GITHUB_TOKEN: "" } });
    });
  }, 60_000);

  it.skipIf(noPostgres)(
    "takes none of its ids (PostgreSQL store)",
    async () => {
      const { url } = await sharedPostgres().createDatabase("replaced_ids");
      const dir = await epic();
      const env = { PARALLEL_PROGRESS_STORE: url, GITHUB_TOKEN: "" };
      let n = 0;
      await addInTheReplacedRunsSecond(async () => {
        const epicId = `E-${++n}`;
        return (args) => runCli([...args, "--dir", dir, "--epic", epicId], { env });
      });
    },
    60_000,
  );
});
