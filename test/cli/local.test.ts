import { spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeEpic, runCli, spawnCli } from "../support/cli.js";

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function epic(task?: string) {
  const made = await makeEpic(task);
  cleanup = made.cleanup;
  return made.dir;
}

describe("the CLI without GitHub (local tracking)", () => {
  it("runs the guide's walkthrough and reports status as a table, JSON and markdown", async () => {
    const dir = await epic();
    const init = await runCli([
      "init",
      "--epic",
      "EPIC-007",
      "--domains",
      "backend,frontend,tests",
      "--dir",
      dir,
    ]);
    expect(init.code).toBe(0);
    const lines = init.stdout.trim().split("\n");
    expect(lines.map((l) => l.split("\t")[0])).toEqual(["backend", "frontend", "tests"]);
    expect(lines[0]).toMatch(/^backend\timpl-bac-\d{6}$/);
    const backend = lines[0]!.split("\t")[1]!;

    expect(
      (await runCli(["update", backend, "--status", "in_progress", "--files", "3/7", "--dir", dir])).code,
    ).toBe(0);
    expect(
      (await runCli(["update", "frontend", "--status", "pending", "--files", "0/5", "--dir", dir])).code,
    ).toBe(0);
    expect(
      (await runCli(["update", "tests", "--status", "pending", "--files", "0/4", "--dir", dir])).code,
    ).toBe(0);

    const json = await runCli(["status", "--json", "--dir", dir]);
    const view = JSON.parse(json.stdout);
    expect(view).toMatchObject({
      epicId: "EPIC-007",
      issueNumber: null,
      completedAt: null,
      overall: { filesCompleted: 3, filesTotal: 16, progress: 19 },
    });
    expect(view.agents[0]).toMatchObject({
      agentId: backend,
      domain: "backend",
      status: "in_progress",
      progress: 43,
    });

    const markdown = await runCli(["status", "--markdown", "--dir", dir]);
    expect(markdown.stdout).toContain(`| backend | ${backend} | 🔄 In Progress | 3/7 | 43% |`);
    expect(markdown.stdout).toContain("**Overall:** 19% (3/16 files)");

    const table = await runCli(["status", "--dir", dir]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("backend");
    expect(table.stdout).not.toMatch(/\u001b\[/); // NO_COLOR and no TTY: no colour codes

    expect((await runCli(["complete", backend, "--summary", "ok", "--dir", dir])).code).toBe(0);
    expect(
      (await runCli(["fail", "tests", "--error", "Compilation error in main.py", "--dir", dir])).code,
    ).toBe(0);
    const fin = await runCli(["finalize", "--summary", "All merged.", "--dir", dir]);
    expect(fin.code).toBe(0);
    expect(fin.stderr).toBe("");
    const final = await runCli(["status", "--markdown", "--dir", dir]);
    expect(final.stdout).toContain("## 🎉 Final Summary");
    expect(final.stdout).toContain("❌ Failed");
    const again = await runCli(["finalize", "--dir", dir]); // idempotent
    expect([again.code, again.stderr]).toEqual([0, ""]);
    const same = await runCli(["finalize", "--summary", "All merged.", "--dir", dir]);
    expect([same.code, same.stderr]).toEqual([0, ""]);
    // Another summary is not taken: said in one warning, exit 0.
    const other = await runCli(["finalize", "--summary", "Corrected.", "--dir", dir]);
    expect(other.code).toBe(0);
    expect(other.stderr).toBe(
      "parallel-progress: warning: the run was already finalized with another summary, which stays (a final summary is posted once): this one was not used\n",
    );
    expect((await runCli(["status", "--markdown", "--dir", dir])).stdout).toContain("All merged.");
  });

  it("finalize again with the same summary holding a secret (kept masked) warns of nothing", async () => {
    const dir = await epic();
    const env = { GITHUB_TOKEN: "0123456789abcdef0123456789abcdef01234567" };
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    const summary = `merged with ${env.GITHUB_TOKEN} and ghp_${"x".repeat(36)}`;
    for (let time = 0; time < 2; time++) {
      const finalize = await runCli(["finalize", "--summary", summary, "--dir", dir], { env });
      expect([finalize.code, finalize.stderr]).toEqual([0, ""]);
    }
  });

  it("refuses bad input with exit 2, one clear line, and the state untouched", async () => {
    const dir = await epic();
    await runCli(["init", "--epic", "E", "--domains", "a,b", "--dir", dir]);
    const statePath = join(dir, ".parallel-progress/state.json");
    const before = await readFile(statePath, "utf8");
    const cases: [string[], RegExp][] = [
      // One value an option parser refuses; each parser's bad values: test/config/options.test.ts.
      [["update", "a", "--status", "running", "--files", "1/2"], /--status/],
      [["update", "nobody", "--status", "in_progress", "--files", "1/2"], /unknown agent "nobody"/],
      [["fail", "a"], /--error/],
      [["fail", "a", "--error", " "], /--error must say why the agent failed, got " "/],
      [["init", "--epic", "E", "--domains", "x,y"], /still active/],
      [["init", "--epic", "E", "--domains", "x,x", "--force"], /"x" more than once/],
      [
        ["update", "a", "--status", "in_progress", "--files", "1/2", "--repo", "not a repo"],
        /--repo.*"not a repo"/,
      ],
      [["status", "--json", "--markdown"], /not both/],
      [["frobnicate"], /unknown command/],
      [["update", "a", "--status", "in_progress", "--bogus"], /unknown option/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...args, "--dir", dir]);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(result.stdout).toBe("");
    }
    expect(await readFile(statePath, "utf8")).toBe(before);
  });

  it("says there is no run, and reports a broken task.md naming file, field and value", async () => {
    const dir = await epic("---\ngithub:\n  issue_number: abc\n---\n");
    const none = await runCli(["status", "--dir", dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no run here/);
    const broken = await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/task\.md: github\.issue_number must be a positive integer, got "abc"/);
  });

  it("a command refused for want of a run leaves no folder behind", async () => {
    const dir = join(await epic(), "typo", "EPIC");
    for (const args of [["update", "a", "--status", "in_progress"], ["complete", "a"], ["finalize"]]) {
      const result = await runCli([...args, "--dir", dir]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no run here/);
    }
    // retry with no run and no queue: nothing to do (exit 0), and nothing is made either.
    const retry = await runCli(["retry", "--dir", dir]);
    expect(retry.code).toBe(0);
    expect(retry.stderr).toBe("");
    await expect(stat(join(dir, "..", ".."))).resolves.toBeTruthy();
    await expect(stat(join(dir, ".."))).rejects.toThrow(/ENOENT/);
  });

  it("keeps its run files out of git: the state folder and the queue carry their own .gitignore", async () => {
    const dir = await epic("---\ntitle: E\n---\n");
    expect(spawnSync("git", ["init", "-q", dir]).status).toBe(0);
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
    // No token: the post is queued (a file in the queue folder).
    const noToken = { env: { GITHUB_TOKEN: "", GH_TOKEN: "", PATH: "/nonexistent" } };
    const update = (files: string) =>
      runCli(
        [
          "update",
          "a",
          "--status",
          "in_progress",
          "--files",
          files,
          "--issue",
          "5",
          "--repo",
          "o/r",
          "--dir",
          dir,
        ],
        noToken,
      );
    expect((await update("1/3")).code).toBe(0);
    const queue = join(dir, ".github_parallel_queue");
    expect(await readdir(queue)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^comment_\d{8}_\d{6}_\d{6}\.json$/)]),
    );
    const untracked = spawnSync("git", ["-C", dir, "status", "--porcelain", "--untracked-files=all"], {
      encoding: "utf8",
    });
    // Only the task.md: no state, lock or queued post.
    expect(untracked.stdout.trim().split("\n")).toEqual(["?? task.md"]);
    expect(await readFile(join(dir, ".parallel-progress", ".gitignore"), "utf8")).toMatch(/^\*$/m);
    // A .gitignore of the user's is left as it is.
    await writeFile(join(queue, ".gitignore"), "mine\n");
    expect((await update("2/3")).code).toBe(0);
    expect(await readFile(join(queue, ".gitignore"), "utf8")).toBe("mine\n");
  });

  it("no command: one line, exit 2 (test/cli/usage.test.ts); the machine's trouble: one line, exit 1", async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^parallel-progress: error: no command given: .*\n$/);
    // The state folder's name taken by a file (a --dir that is a file is the caller's: usage.test.ts).
    const dir = await epic();
    await writeFile(join(dir, ".parallel-progress"), "not a folder\n");
    const notDir = await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir]);
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toMatch(/^parallel-progress: error: ENOTDIR/);
    expect(notDir.stderr.trim().split("\n")).toHaveLength(1);
    // A folder the kernel cannot make under one that exists (procfs answers ENOENT): Node's own recursive
    // mkdir spun on it for good (runCli's kill bounds the test).
    const proc = await runCli(["init", "--epic", "E", "--domains", "a", "--dir", "/proc/self/pp-x"]);
    expect(proc.code).toBe(1);
    expect(proc.stderr).toBe(
      "parallel-progress: error: ENOENT: no such file or directory, mkdir '/proc/self/pp-x'\n",
    );
  });

  it("prints help and version with exit 0", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    for (const command of [
      "init",
      "update",
      "complete",
      "fail",
      "cancel",
      "log",
      "finalize",
      "retry",
      "status",
      "watch",
    ]) {
      expect(help.stdout).toContain(command);
    }
    expect(help.stdout).not.toContain("__flush");
    expect((await runCli(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("cancel and the event log from the CLI", () => {
  it("cancels with a reason, logs events, and shows both in status --json and --markdown", async () => {
    const dir = await epic();
    await runCli(["init", "--epic", "E", "--domains", "backend,docs", "--dir", dir, "--stall-after", "10m"]);
    expect((await runCli(["log", "backend", "compiled module A", "--dir", dir])).code).toBe(0);
    expect((await runCli(["log", "backend", "tests green", "--dir", dir])).code).toBe(0);
    expect((await runCli(["cancel", "docs", "--reason", "not needed", "--dir", dir])).code).toBe(0);
    const view = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout);
    const [backend, docs] = view.agents;
    expect(backend.events.map((e: { message: string }) => e.message)).toEqual([
      "compiled module A",
      "tests green",
    ]);
    expect(docs).toMatchObject({ status: "cancelled", error: "not needed" });
    expect(view.counts).toMatchObject({ pending: 1, cancelled: 1 });
    expect(view.countsText).toBe("1 pending, 0 running, 0 completed, 0 failed, 1 cancelled");
    const markdown = (await runCli(["status", "--markdown", "--dir", dir])).stdout;
    expect(markdown).toContain("⏹️ Cancelled");
    expect(markdown).toContain("tests green");
    const empty = await runCli(["log", "backend", "  ", "--dir", dir]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/cannot be empty/);
    const badStall = await runCli([
      "init",
      "--epic",
      "E",
      "--domains",
      "a",
      "--force",
      "--stall-after",
      "soon",
      "--dir",
      dir,
    ]);
    expect(badStall.code).toBe(2);
  });

  it("agent text is taken at any length, kept as given up to 2,000 characters, the last … when cut", async () => {
    const dir = await epic();
    await runCli(["init", "--epic", "E", "--domains", "a,b,c,d", "--dir", dir]);
    const long = (letter: string) => `  ${letter.repeat(100_000)}  `;
    for (const args of [
      ["log", "a", long("l")],
      ["log", "a", "  padded  "],
      ["fail", "b", "--error", long("e")],
      ["complete", "c", "--summary", long("s")],
      ["cancel", "d", "--reason", long("r")],
    ]) {
      const result = await runCli([...args, "--dir", dir]);
      expect(result.code, args[0]).toBe(0);
      expect(result.stderr).toBe("");
    }
    const cut = (letter: string) => `  ${letter.repeat(1997)}…`;
    const [a, b, c, d] = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout).agents;
    expect(a.events.map((e: { message: string }) => e.message)).toEqual([cut("l"), "  padded  "]);
    expect(b.error).toBe(cut("e"));
    expect(c.summary).toBe(cut("s"));
    expect(d.error).toBe(cut("r"));
    // The issue shows less still: an event's first 200 characters, without the white space around it.
    const markdown = (await runCli(["status", "--markdown", "--dir", dir])).stdout;
    expect(markdown).toContain(`: ${"l".repeat(199)}…\n`);
    expect(markdown).toContain(": padded\n");
  });

  it("a cancelled agent takes no update, complete or fail: exit 2, one line, the run untouched", async () => {
    const dir = await epic();
    await runCli(["init", "--epic", "E", "--domains", "backend,docs", "--dir", dir]);
    expect(
      (await runCli(["cancel", "docs", "--reason", "not needed", "--cost", "0.30", "--dir", dir])).code,
    ).toBe(0);
    const statePath = join(dir, ".parallel-progress/state.json");
    const before = await readFile(statePath, "utf8");
    for (const args of [
      ["update", "docs", "--status", "in_progress", "--files", "1/2", "--cost", "0.40"],
      ["complete", "docs"],
      ["fail", "docs", "--error", "crashed"],
    ]) {
      const refused = await runCli([...args, "--dir", dir]);
      expect(refused.code, args[0]).toBe(2);
      expect(refused.stderr).toMatch(
        /^parallel-progress: error: impl-doc-\w+ was cancelled and takes no \w+: .*\n$/,
      );
    }
    expect(await readFile(statePath, "utf8")).toBe(before);
  });
});

describe("output to a reader that goes away", () => {
  it("`status | head -1`: the CLI drops the rest of the data and exits 0, without an EPIPE crash", async () => {
    const dir = await epic();
    const domains = Array.from({ length: 400 }, (_, i) => `d${i}`).join(",");
    expect((await runCli(["init", "--epic", "PIPE", "--domains", domains, "--dir", dir])).code).toBe(0);
    const running = spawnCli(["status", "--markdown", "--dir", dir]);
    running.child.stdout.destroy(); // the reader is gone before the CLI writes a byte
    const result = await running.done;
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.code).toBe(0);
  });
});

describe("what a killed process left in the epic folder", () => {
  it("init removes task.md's temporary copy a finalize killed while writing last_synced left (older than a minute)", async () => {
    const dir = await epic("---\ngithub:\n  sync_enabled: false\n---\n");
    const stray = join(dir, ".task.md.4242.deadbeef.tmp");
    const fresh = join(dir, ".task.md.4243.cafef00d.tmp");
    await writeFile(stray, "a copy");
    await writeFile(fresh, "being written");
    const old = new Date(Date.now() - 120_000);
    await utimes(stray, old, old);
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
    const names = await readdir(dir);
    expect(names).not.toContain(".task.md.4242.deadbeef.tmp");
    expect(names).toContain(".task.md.4243.cafef00d.tmp"); // another process may be writing it now
  });
});

describe("a warning naming a path that holds a line break", () => {
  it("stays one line (the path's invisible characters escaped), so it cannot forge another", async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const dir = join(made.dir, "a\nparallel-progress: error: forged\u202e");
    await mkdir(join(dir, ".parallel-progress"), { recursive: true });
    await writeFile(join(dir, ".parallel-progress", "state.json"), "{ not json");
    const result = await runCli(["init", "--force", "--epic", "E", "--domains", "a", "--dir", dir]);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.trim().split("\n");
    expect(
      lines.every((line) => line.startsWith("parallel-progress: warning: ")),
      result.stderr,
    ).toBe(true);
    expect(result.stderr).toContain("a\\u000aparallel-progress: error: forged\\u202e");
  });
});
