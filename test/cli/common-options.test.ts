import { afterEach, describe, expect, it } from "vitest";
import { makeEpic, runCli } from "../support/cli.js";

/** The common options are declared once, on the program: each command takes them, before or after it. */
describe("the common options (--dir, --quiet, ... declared on the program)", () => {
  let cleanup: () => Promise<void> = async () => undefined;
  afterEach(async () => cleanup());

  it("are taken after the command and before it, and reach the command's action", async () => {
    const epic = await makeEpic("---\ntitle: Local\n---\n");
    cleanup = epic.cleanup;
    const init = await runCli(["init", "--epic", "E", "--domains", "a,b", "--dir", epic.dir]);
    expect(init.code).toBe(0);
    expect(
      (await runCli(["--dir", epic.dir, "update", "a", "--status", "in_progress", "--files", "1/4"])).code,
    ).toBe(0);
    expect((await runCli(["update", "b", "--dir", epic.dir, "--status", "completed", "-q"])).code).toBe(0);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", epic.dir])).stdout);
    expect(status.agents.map((agent: { status: string }) => agent.status)).toEqual([
      "in_progress",
      "completed",
    ]);
    expect(status.overall.filesTotal).toBe(4);
  });

  it("check their values for every command: one line, exit 2", async () => {
    const bad = await runCli(["update", "a", "--status", "completed", "--min-interval", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toEqual([
      'parallel-progress: error: --min-interval must be a whole number of milliseconds from 0 to 600000, got "soon"',
    ]);
    // Also where the command ignores them (status and watch only read): every value is checked alike.
    for (const [option, value, message] of [
      ["--repo", "a/b\tc", '--repo must be owner/name, got "a/b\\tc"'],
      [
        "--api-url",
        "x".repeat(100_000),
        `--api-url must be an http(s) URL such as https://api.github.com, got "${"x".repeat(77)}..."`,
      ],
    ]) {
      const ignored = await runCli(["status", option!, value!, "--dir", "/nonexistent"]);
      expect([ignored.code, ignored.stderr]).toEqual([2, `parallel-progress: error: ${message}\n`]);
    }
  });

  it("are listed in each command's help, under Global Options", async () => {
    const help = await runCli(["update", "--help"]);
    expect(help.code).toBe(0);
    const [own, global] = help.stdout.split("Global Options:");
    expect(own).toContain("--status <status>");
    for (const option of [
      "--dir <epic-dir>",
      "--repo <owner/name>",
      "--api-url <url>",
      "--quiet",
      "--verbose",
    ]) {
      expect(global).toContain(option);
    }
  });

  it("each command's own options show however help is asked, and unknown ones get suggestions", async () => {
    // A command's options are declared when it runs or a help shows them (src/cli/declare.ts).
    const list = await runCli(["--help"]);
    expect(list.stdout).toMatch(/^ {2}update \[options\] <agent> /m);
    expect(list.stdout).toMatch(/^ {2}log <agent> <message> /m);
    for (const args of [
      ["help", "update"],
      ["update", "--help"],
      ["help", "init"],
    ]) {
      const help = await runCli(args);
      expect(help.code).toBe(0);
      expect(help.stdout.split("Global Options:")[0]).toMatch(/--status <status>|--domains <a,b,c>/);
    }
    expect((await runCli(["db", "status", "--help"])).stdout).toContain("--json");
    expect((await runCli(["db", "--help"])).stdout).toMatch(/^ {2}status \[options\] /m);
    const typo = await runCli(["update", "a", "--status", "pending", "--fils", "1/2"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("(Did you mean --files?)");
    const dbTypo = await runCli(["db", "status", "--jsn"]);
    expect(dbTypo.code).toBe(2);
    expect(dbTypo.stderr).toContain("(Did you mean --json?)");
  });
});
