import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";

/** The caller's mistakes that the command line itself catches: one line on stderr, exit 2. */

const epic = useEpicDirs();

function expectOneLine(result: CliResult, message: RegExp): void {
  expect(result.stderr.trim()).toMatch(message);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
}

describe("a missing or unknown command", () => {
  it("is one line naming what is wrong, exit 2; help asked for is on stdout, exit 0", async () => {
    expectOneLine(
      await runCli([]),
      /^parallel-progress: error: no command given: give one of init, add, update, .*, db; see parallel-progress --help$/,
    );
    expectOneLine(await runCli(["--quiet"]), /no command given/);
    expectOneLine(
      await runCli(["help", "bogus"]),
      /^parallel-progress: error: help: unknown command 'bogus': give one of init, add, .*, db; see parallel-progress --help$/,
    );
    // An unknown command: a suggestion when a command's name is near, else the commands to choose from.
    expectOneLine(
      await runCli(["updat"]),
      /^parallel-progress: error: unknown command 'updat' \(Did you mean update\?\)$/,
    );
    expectOneLine(
      await runCli(["frobnicate"]),
      /^parallel-progress: error: unknown command 'frobnicate': give one of init, add, .*, db; see parallel-progress --help$/,
    );
    expectOneLine(
      await runCli(["db", "frob"]),
      /^parallel-progress: error: unknown command 'frob': give one of migrate, status, grant, revoke, grants; see parallel-progress db --help$/,
    );
    expectOneLine(
      await runCli(["db"]),
      /^parallel-progress: error: no db command given: give one of migrate, status, grant, revoke, grants; see parallel-progress db --help$/,
    );
    for (const args of [["help"], ["--help"], ["help", "db"], ["db", "--help"], ["help", "help"]]) {
      const help = await runCli(args);
      expect({ args, code: help.code, stderr: help.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(help.stdout).toMatch(/^Usage: parallel-progress/);
    }
  });

  it("an unknown command is the same one line whatever follows or comes before it: never the help or the version", async () => {
    const lines = [
      [["updat", "--help"], /^parallel-progress: error: unknown command 'updat' \(Did you mean update\?\)$/],
      [["frobnicate", "-V"], /^parallel-progress: error: unknown command 'frobnicate': give one of init, /],
      [
        ["--version", "frobnicate"],
        /^parallel-progress: error: unknown command 'frobnicate': give one of init, /,
      ],
      [
        ["--dir", ".", "frob", "--bogus", "-h"],
        /^parallel-progress: error: unknown command 'frob': give one of init, /,
      ],
      [["db", "frob", "--help"], /^parallel-progress: error: unknown command 'frob': give one of migrate, /],
      [
        ["db", "frob", "--version"],
        /^parallel-progress: error: unknown command 'frob': give one of migrate, /,
      ],
      [["help", "frob", "-V"], /^parallel-progress: error: help: unknown command 'frob': give one of init, /],
      [
        ["help", "db", "frob", "--version"],
        /^parallel-progress: error: help: unknown command 'frob': give one of migrate, /,
      ],
      // No suggestion made from names cut short (commander's was `--lp`).
      [["--", "--help"], /^parallel-progress: error: unknown command '--help': give one of init, /],
    ] as const;
    for (const [args, message] of lines) expectOneLine(await runCli(args), message);
    // A known command with -V or --help still prints the version or its help (exit 0).
    for (const [args, out] of [
      [["-V"], /^\d+\.\d+\.\d+\n$/],
      [["update", "a", "--version"], /^\d+\.\d+\.\d+\n$/],
      [["db", "-V"], /^\d+\.\d+\.\d+\n$/],
      [["update", "--help"], /^Usage: parallel-progress update /],
      [["help", "update", "-V"], /^Usage: parallel-progress update /],
      [["db", "status", "--help"], /^Usage: parallel-progress db status /],
    ] as const) {
      const result = await runCli(args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(result.stdout).toMatch(out);
    }
  });

  it("help db <command> shows that command's help; help db <unknown> is refused as help <unknown> is", async () => {
    for (const [args, usage] of [
      [["help", "db", "status"], "Usage: parallel-progress db status [options]\n"],
      [["help", "db", "grant"], "Usage: parallel-progress db grant [options] <role>\n"],
      [["--dir", ".", "help", "db", "migrate"], "Usage: parallel-progress db migrate [options]\n"],
      [["help", "init", "extra"], "Usage: parallel-progress init [options]\n"],
    ]) {
      const help = await runCli(args as string[]);
      expect({ args, code: help.code, stderr: help.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(help.stdout.startsWith(usage as string), help.stdout).toBe(true);
    }
    expectOneLine(
      await runCli(["help", "db", "frob"]),
      /^parallel-progress: error: help: unknown command 'frob': give one of migrate, status, grant, revoke, grants; see parallel-progress db --help$/,
    );
  });

  it("an unknown option is named before a required option is missed", async () => {
    const dir = await epic();
    expectOneLine(await runCli(["init", "--bogus", "--dir", dir]), /unknown option '--bogus'/);
    expectOneLine(
      await runCli(["init", "--epic", "E", "--dir", dir]),
      /required option '--domains <a,b,c>' not specified/,
    );
    expectOneLine(
      await runCli(["update", "a", "--dir", dir]),
      /required option '--status <status>' not specified/,
    );
  });
});

describe("an unknown option or command with control characters, or very long", () => {
  it("is shown escaped and shortened: one short line", async () => {
    const long = "x".repeat(100_000);
    expectOneLine(
      await runCli(["status", "--a\nb", "--x\u001b[2J"]),
      /^parallel-progress: error: unknown option '--a\\u000ab'$/,
    );
    expectOneLine(
      await runCli(["status", `--${long}`]),
      new RegExp(`^parallel-progress: error: unknown option '--${"x".repeat(75)}\\.\\.\\.'$`),
    );
    // commander puts its suggestion on a line of its own: kept on the one line.
    expectOneLine(
      await runCli(["status", "--jsn"]),
      /^parallel-progress: error: unknown option '--jsn' \(Did you mean --json\?\)$/,
    );
    expectOneLine(
      await runCli(["frob\u001bx"]),
      /^parallel-progress: error: unknown command 'frob\\u001bx': give one of /,
    );
    expectOneLine(
      await runCli([long]),
      new RegExp(`^parallel-progress: error: unknown command '${"x".repeat(77)}\\.\\.\\.': give one of `),
    );
    expectOneLine(await runCli(["db", "a\nb"]), /^parallel-progress: error: unknown command 'a\\u000ab'/);
    expectOneLine(
      await runCli(["help", "a\tb"]),
      /^parallel-progress: error: help: unknown command 'a\\u0009b': give one of /,
    );
  });
});

describe("an empty --store or --epic", () => {
  it('is refused, as an empty --dir is: --store "$UNSET" would quietly use the files here', async () => {
    const dir = await epic();
    const init = ["init", "--domains", "a", "--dir", dir];
    expectOneLine(
      await runCli([...init, "--epic", "E", "--store", " "]),
      /^parallel-progress: error: --store must name a database \(postgres:\/\/\.\.\.\), got " "$/,
    );
    expectOneLine(
      await runCli([...init, "--epic", ""], { env: { PARALLEL_PROGRESS_EPIC: "E" } }),
      /^parallel-progress: error: --epic must be 1 to 200 printable characters, got ""$/,
    );
    await expect(stat(join(dir, ".parallel-progress"))).rejects.toThrow(/ENOENT/);
    // An empty variable is an unset one (PARALLEL_PROGRESS_EPIC= history lists every epic).
    expect(
      (await runCli(init, { env: { PARALLEL_PROGRESS_EPIC: "E", PARALLEL_PROGRESS_STORE: "" } })).code,
    ).toBe(0);
  });
});

describe("init --stall-after", () => {
  it("takes days; a number without a unit is refused with one line asking for one", async () => {
    const dir = await epic();
    expectOneLine(
      await runCli(["init", "--epic", "E", "--domains", "a", "--stall-after", "20", "--dir", dir]),
      /^parallel-progress: error: --stall-after needs a unit \(ms, s, m, h or d\), e\.g\. 20m for minutes, got "20"$/,
    );
    expect(
      (await runCli(["init", "--epic", "E", "--domains", "a", "--stall-after", "7d", "--dir", dir])).code,
    ).toBe(0);
    const state = JSON.parse(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8"));
    expect(state.stallAfterMs).toBe(7 * 86_400_000);
  });
});

describe("an epic that is not the run's, with the file store", () => {
  it("is refused by a command acting on the run: exit 2, one line naming both, the run untouched", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E1", "--domains", "a", "--dir", dir])).code).toBe(0);
    const statePath = join(dir, ".parallel-progress", "state.json");
    const before = await readFile(statePath, "utf8");
    const update = ["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir];
    expectOneLine(
      await runCli([...update, "--epic", "OTHER"]),
      /^parallel-progress: error: --epic names epic "OTHER", but the run in .* is epic "E1"'s: give --epic "E1" \(or leave --epic out\)$/,
    );
    expectOneLine(
      await runCli(update, { env: { PARALLEL_PROGRESS_EPIC: "OTHER" } }),
      /^parallel-progress: error: PARALLEL_PROGRESS_EPIC names epic "OTHER", but the run .* is epic "E1"'s: .*unset PARALLEL_PROGRESS_EPIC$/,
    );
    expectOneLine(await runCli(["status", "--epic", "OTHER", "--dir", dir]), /names epic "OTHER"/);
    expect(await readFile(statePath, "utf8")).toBe(before);
    // The run's own epic, by either name, is fine; --epic wins over the environment.
    expect(
      (await runCli([...update, "--epic", "E1"], { env: { PARALLEL_PROGRESS_EPIC: "OTHER" } })).code,
    ).toBe(0);
    expect(
      (await runCli(["complete", "a", "--dir", dir], { env: { PARALLEL_PROGRESS_EPIC: "E1" } })).code,
    ).toBe(0);
    // init starts a run of the epic it is given (the last one finalized).
    expect((await runCli(["finalize", "--dir", dir])).code).toBe(0);
    expect((await runCli(["init", "--epic", "E2", "--domains", "a", "--dir", dir])).code).toBe(0);
  });

  it("is one name in either form of its accented letters (é typed on macOS, e + U+0301), as domains are", async () => {
    const dir = await epic();
    const composed = "Épopée";
    const decomposed = composed.normalize("NFD");
    expect((await runCli(["init", "--epic", decomposed, "--domains", "a", "--dir", dir])).code).toBe(0);
    const view = JSON.parse((await runCli(["status", "--json", "--epic", composed, "--dir", dir])).stdout);
    expect(view.epicId).toBe(composed);
    const update = ["update", "a", "--status", "in_progress", "--dir", dir];
    expect((await runCli(update, { env: { PARALLEL_PROGRESS_EPIC: decomposed } })).code).toBe(0);
    // 200 accented letters typed decomposed (400 code points) are 200 characters.
    const long = "é".repeat(200).normalize("NFD");
    expect((await runCli(["init", "--epic", long, "--domains", "a", "--force", "--dir", dir])).code).toBe(0);
  });
});

describe("--dir", () => {
  it("a file, or a path through one, and an empty value are refused: exit 2, one line, nothing made", async () => {
    const dir = await epic();
    const file = join(dir, "task.md");
    await writeFile(file, "not a folder\n");
    const init = ["init", "--epic", "E", "--domains", "a"];
    expectOneLine(
      await runCli([...init, "--dir", file]),
      /^parallel-progress: error: --dir: not a directory, got ".*task\.md"$/,
    );
    expectOneLine(await runCli(["status", "--dir", join(file, "deeper")]), /--dir: not a directory/);
    expectOneLine(
      await runCli([...init, "--dir", ""], { cwd: dir }),
      /^parallel-progress: error: --dir must name the epic directory, got ""$/,
    );
    await expect(stat(join(dir, ".parallel-progress"))).rejects.toThrow(/ENOENT/);
    // A directory not made yet is made by init, with its parents (as git init does).
    expect((await runCli([...init, "--dir", join(dir, "new", "deeper")])).code).toBe(0);
    await expect(stat(join(dir, "new", "deeper", ".parallel-progress", "state.json"))).resolves.toBeTruthy();
  });
});
