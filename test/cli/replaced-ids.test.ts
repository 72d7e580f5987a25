import { describe, expect, it } from "vitest";
import { type CliResult, queueFiles, runCli, taskMd } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * An agent of a run that `init --force` replaced, still reporting by the id that run printed for it, is
 * refused (unknown agent, exit 2) instead of changing the new run: also when an agent of its domain is
 * added to the new run in the same second (a script restarting its run), and no agent of the new run has
 * that id as its domain.
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

/** The one line of a refusal (exit 2, nothing on stdout). */
async function refused(cli: Cli, args: string[]): Promise<string> {
  const result = await cli(args);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  return result.stderr;
}

/**
 * `init --force` and `add` refuse a domain that is an id of the replaced run's agent, the run untouched,
 * and nothing queued for the issue of `dir`'s task.md (the abandoned mark --force queues is not).
 */
async function noDomainIsAnOldId(cli: Cli, dir: string) {
  const old = (await ok(cli, ["init", "--domains", "a,b"])).split("\n")[0]!.split("\t")[1]!;
  const first = await runView(cli);
  const queued = await queueFiles(dir);
  expect(queued).toHaveLength(1);
  const init = await refused(cli, ["init", "--force", "--domains", `${old},c`]);
  expect(await queueFiles(dir)).toEqual(queued);
  expect(init).toMatch(
    new RegExp(
      `^parallel-progress: error: domain "${old}" is the id of agent ${old} \\(a\\) of run E-\\S+, which this run replaces: a domain may not be such an id`,
    ),
  );
  expect(await runView(cli)).toEqual(first);
  await ok(cli, ["update", old, "--status", "in_progress", "--files", "1/3"]);

  await ok(cli, ["init", "--force", "--domains", "c"]);
  const second = await runView(cli);
  const add = await refused(cli, ["add", "--domains", `d,${old}`]);
  expect(add).toMatch(
    new RegExp(
      `^parallel-progress: error: domain "${old}" is the id of an agent of a run that run E-\\S+ replaced: a domain may not be such an id`,
    ),
  );
  expect(await runView(cli)).toEqual(second);
  const late = await cli(["update", old, "--status", "in_progress", "--files", "2/3"]);
  expect(late.code).toBe(2);
  expect(late.stderr).toContain(`unknown agent "${old}"`);
  expect(await runView(cli)).toEqual(second);
}

describe("a domain that is an agent id of the run replaced", () => {
  it("is refused by init --force and add (file store)", async () => {
    const dir = await epic(taskMd(5));
    const env = { GITHUB_TOKEN: "" };
    await noDomainIsAnOldId((args) => runCli([...args, "--dir", dir, "--epic", "E"], { env }), dir);
  });

  it.skipIf(noPostgres)("is refused by init --force and add (PostgreSQL store)", async () => {
    const { url } = await sharedPostgres().createDatabase("replaced_domains");
    const dir = await epic(taskMd(5));
    const env = { PARALLEL_PROGRESS_STORE: url, GITHUB_TOKEN: "" };
    await noDomainIsAnOldId((args) => runCli([...args, "--dir", dir, "--epic", "E"], { env }), dir);
  });
});

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
