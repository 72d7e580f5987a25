import { describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/** Issue 11, items 8 and 9: ambiguous agent names and control characters on the command line. */

const epic = useEpicDirs();
const noPostgres = postgresUnavailable();

/** `status --json`'s run without what changes as time passes (`silentForMs`). */
async function runView(cli: (args: string[]) => Promise<CliResult>) {
  const json = JSON.parse((await cli(["status", "--json"])).stdout);
  return {
    event: json.event,
    agents: json.agents.map((a: Record<string, unknown>) => [a.agentId, a.domain, a.status, a.updatedAt]),
  };
}

/**
 * A domain equal to an agent's id made that id ambiguous, and the agent could not report by it: `init`
 * gave `x` the id that another domain of the same init was, and `add` took a domain equal to a running
 * agent's id. Ids carry the store's clock's second, so the domains are the ids `x` would get in any
 * second from 2 s before to a minute after now.
 */
async function idsAndDomainsNeverMeet(cli: (args: string[]) => Promise<CliResult>) {
  const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19).replaceAll(":", "");
  const idsOfX = Array.from({ length: 62 }, (_, i) => `impl-x-${hhmmss(Date.now() + (i - 2) * 1000)}`);
  const init = await cli(["init", "--epic", "E", "--domains", ["x", ...idsOfX].join(",")]);
  expect(init.code, init.stderr).toBe(0);
  const x = init.stdout.split("\n")[0]!.split("\t")[1]!;
  expect(x).toMatch(/^impl-x-\d{6}-2$/);
  expect(idsOfX).toContain(x.slice(0, -2));
  const update = await cli(["update", x, "--status", "in_progress", "--files", "1/4"]);
  expect(update.stderr).toBe("");
  expect(update.code).toBe(0);

  const before = await runView(cli);
  const add = await cli(["add", "--domains", `docs,${x}`, "--parent", idsOfX[0]!]);
  expect(add.code).toBe(2);
  expect(add.stdout).toBe("");
  expect(add.stderr.trim().split("\n")).toHaveLength(1);
  expect(add.stderr).toContain(`domain "${x}" is the id of agent ${x} (x) in run E-`);
  expect(add.stderr).toContain("a domain may not be another agent's id");
  expect(await runView(cli)).toEqual(before);
  const later = await cli(["update", x, "--status", "in_progress", "--files", "2/4"]);
  expect(later.stderr).toBe("");
  expect(later.code).toBe(0);
}

describe("agent names on the command line", () => {
  it("refuses a name that matches several domains ignoring case: exit 2, the candidates listed", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E", "--domains", "Back,BACK,bAck", "--dir", dir])).code).toBe(0);
    const result = await runCli([
      "update",
      "back",
      "--status",
      "in_progress",
      "--files",
      "1/2",
      "--dir",
      dir,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /agent "back" is ambiguous: it matches the domains of impl-bac-\d{6} \(Back\), impl-bac-\d{6}-2 \(BACK\), impl-bac-\d{6}-3 \(bAck\) ignoring case/,
    );
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout);
    expect(status.agents.map((agent: { status: string }) => agent.status)).toEqual([
      "pending",
      "pending",
      "pending",
    ]);
  });

  it("never makes a name that is one agent's id and another's domain (file store)", async () => {
    const dir = await epic();
    await idsAndDomainsNeverMeet((args) => runCli([...args, "--dir", dir]));
  });

  describe.skipIf(noPostgres)("with a PostgreSQL store", () => {
    it("never makes a name that is one agent's id and another's domain", async () => {
      const { url } = await sharedPostgres().createDatabase("ids");
      const dir = await epic();
      const env = { PARALLEL_PROGRESS_STORE: url, PARALLEL_PROGRESS_EPIC: "E" };
      await idsAndDomainsNeverMeet((args) => runCli([...args, "--dir", dir], { env }));
    });
  });

  it("never echoes a raw control character", async () => {
    const dir = await epic();
    const result = await runCli(["init", "--epic", "E", "--domains", "a\u007fb,c\u0085d", "--dir", dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('may not contain control characters, got "a\\u007fb"');
    expect(result.stderr).not.toMatch(/[\u007f-\u009f]/);
  });
});
