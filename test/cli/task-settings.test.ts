import { execFileSync } from "node:child_process";
import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, taskMd } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const fakeGitHub = useFakeGitHub("ghp_settingstoken0123456789abcdefghijklm");
const setup = (task?: string) => fakeGitHub({ task: task ?? null });

describe("task.md settings from the CLI", () => {
  it("sync_enabled: false keeps everything local, even with a token and an issue", async () => {
    const { gh, dir, env } = await setup(
      "---\ngithub:\n  issue_number: 123\n  repo: acme/widgets\n  sync_enabled: false\n---\n",
    );
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    await runCli(["complete", "a", "--dir", dir], { env });
    expect((await runCli(["finalize", "--dir", dir], { env })).code).toBe(0);
    expect(gh.requests).toHaveLength(0);
    expect(JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout).sync.enabled).toBe(false);
  });

  it("keeps what it read of task.md per machine (in --dir); turning sync off there stops GitHub traffic from the next command", async () => {
    const task = "---\ngithub:\n  issue_number: 123\n  repo: acme/widgets\n---\n";
    const { gh, dir, env } = await setup(task);
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    // What it read of task.md is kept per machine (in --dir), not in the shared run state.
    const state = JSON.parse(await readFile(join(dir, ".parallel-progress/state.json"), "utf8"));
    expect(state).not.toHaveProperty("taskFile");
    const seen = JSON.parse(await readFile(join(dir, ".parallel-progress/task-file.json"), "utf8"));
    expect(seen).toMatchObject({ runId: state.runId, taskFile: { size: Buffer.byteLength(task) } });
    const before = gh.requests.length;
    expect(before).toBeGreaterThan(0);
    await writeFile(
      join(dir, "task.md"),
      task.replace("  repo: acme/widgets\n", "  repo: acme/widgets\n  sync_enabled: false\n"),
    );
    await runCli(
      ["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir, "--min-interval", "0"],
      { env },
    );
    expect(gh.requests.length).toBe(before);
  });

  it("keeps a setting given by a flag at init over task.md read again after an edit (a flag wins over task.md)", async () => {
    const task =
      "---\ngithub:\n  issue_number: 5\n  repo: acme/widgets\n  comment_mode: append\n---\n- [ ] backend\n";
    const { gh, dir, env } = await setup(task);
    const call = async (...args: string[]) => {
      const result = await runCli([...args, "--dir", dir, "--min-interval", "0"], { env });
      expect(result.code, result.stderr).toBe(0);
      return result;
    };
    await call("init", "--epic", "E", "--domains", "a", "--issue", "12", "--comment-mode", "edit");
    await call("update", "a", "--status", "in_progress", "--files", "1/3");
    // A body edit (a box ticked): task.md is read again; its issue and comment mode are not the run's.
    await writeFile(join(dir, "task.md"), task.replace("- [ ]", "- [x]"));
    await call("update", "a", "--status", "in_progress", "--files", "2/3");
    await call("update", "a", "--status", "in_progress", "--files", "3/3");
    const state = JSON.parse(await readFile(join(dir, ".parallel-progress/state.json"), "utf8"));
    expect(state.github).toMatchObject({
      issueNumber: 12,
      commentMode: "edit",
      given: ["commentMode", "issueNumber", "minIntervalMs"],
    });
    expect(state.agents[Object.keys(state.agents)[0]!].filesCompleted).toBe(3);
    const posts = gh.requests.filter((request) => request.method === "POST");
    expect(posts.map((request) => request.path)).toEqual(["/repos/acme/widgets/issues/12/comments"]);
  });

  it("two calls at once, one giving a flag, one reading an edited task.md: neither refused, the flag kept", async () => {
    // The task.md reader reads outside the lock: were its settings saved over the flag's, its change was
    // refused as a move to "issue #null", or the flag undone.
    for (let round = 0; round < 8; round++) {
      const { dir, env } = await setup("---\ngithub:\n  repo: acme/widgets\n---\n# Epic\n");
      const call = (...args: string[]) =>
        runCli([...args, "--dir", dir], { env: { ...env, GITHUB_TOKEN: "" } });
      expect((await call("init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
      await writeFile(join(dir, "task.md"), "---\ngithub:\n  repo: acme/widgets\n---\n# Epic\n- [x] a box\n");
      const [edited, flagged] = await Promise.all([
        call("update", "a", "--status", "in_progress"),
        call("update", "b", "--status", "in_progress", "--issue", "123", "--comment-mode", "append"),
      ]);
      expect([edited.code, flagged.code], edited.stderr + flagged.stderr).toEqual([0, 0]);
      const state = JSON.parse(await readFile(join(dir, ".parallel-progress/state.json"), "utf8"));
      expect(state.github).toMatchObject({
        issueNumber: 123,
        commentMode: "append",
        given: ["commentMode", "issueNumber"],
      });
      expect(Object.values<{ status: string }>(state.agents).map((agent) => agent.status)).toEqual([
        "in_progress",
        "in_progress",
      ]);
    }
  });

  it("warns of a misspelt setting at init rather than track locally in silence", async () => {
    const { gh, dir, env } = await setup("---\ngithub:\n  issue-number: 5\n  repo: acme/widgets\n---\n");
    const init = await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    expect(init.code).toBe(0);
    expect(init.stderr.trim().split("\n")).toEqual([
      `parallel-progress: warning: ${join(dir, "task.md")}: github.issue-number is not a setting (issue_number, sync_enabled, repo, last_synced, comment_mode, min_interval_ms): ignored; did you mean issue_number?`,
    ]);
    expect(gh.requests).toHaveLength(0);
  });

  it("status warns of a task.md edited into one the next change refuses, and still shows the run (exit 0)", async () => {
    const task = "---\ngithub:\n  issue_number: 123\n  repo: acme/widgets\n---\n";
    const { dir, env } = await setup(task);
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    const quiet = await runCli(["status", "--dir", dir], { env });
    expect(quiet.stderr).toBe("");
    await writeFile(join(dir, "task.md"), task.replace("123", "abc"));
    const status = await runCli(["status", "--json", "--dir", dir], { env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).epicId).toBe("E");
    expect(status.stderr.trim()).toBe(
      `parallel-progress: warning: ${join(dir, "task.md")}: github.issue_number must be a positive integer, got "abc" (the next change refuses it until it is mended)`,
    );
    const update = await runCli(["update", "a", "--status", "in_progress", "--dir", dir], { env });
    expect(update.code).toBe(2);
    // Held to the run as a change holds it: another issue, a repository holding a token.
    for (const [edited, said] of [
      [task.replace("123", "124"), "a run stays on one issue"],
      [
        task.replace("acme/widgets", "acme/ghp_0123456789abcdefghijklmnopqrstuvwxyz"),
        "must not hold a token",
      ],
    ] as const) {
      await writeFile(join(dir, "task.md"), edited);
      const warned = await runCli(["status", "--dir", dir], { env });
      expect(warned.code).toBe(0);
      expect(warned.stderr).toContain(said);
      expect(warned.stderr).toContain("(the next change refuses it until it is mended)");
    }
    // Mended: nothing said.
    await writeFile(join(dir, "task.md"), task);
    expect((await runCli(["status", "--dir", dir], { env })).stderr).toBe("");
  });

  it("refuses --api-url naming another GitHub for a run that posts to an issue: one line, exit 2, state untouched", async () => {
    const { dir, env } = await setup("---\ngithub:\n  issue_number: 5\n  repo: acme/widgets\n---\n");
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env })).code).toBe(0);
    const before = await readFile(join(dir, ".parallel-progress/state.json"), "utf8");
    const moved = await runCli(
      [
        "update",
        "a",
        "--status",
        "in_progress",
        "--files",
        "1/2",
        "--dir",
        dir,
        "--api-url",
        "http://127.0.0.1:9/api",
      ],
      { env },
    );
    expect(moved.code).toBe(2);
    expect(moved.stderr.trim().split("\n")).toHaveLength(1);
    expect(moved.stderr).toMatch(
      /--api-url names http:\/\/127\.0\.0\.1:9\/api, but run .* a run stays on one GitHub/,
    );
    expect(await readFile(join(dir, ".parallel-progress/state.json"), "utf8")).toBe(before);
  });

  it("refuses a task.md that is a named pipe rather than wait for a writer forever: one line, exit 2", async () => {
    const { dir, env } = await setup();
    execFileSync("mkfifo", [join(dir, "task.md")]);
    const init = await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    expect(init.code).toBe(2);
    expect(init.stderr).toBe(
      `parallel-progress: error: ${join(dir, "task.md")}: cannot be read: a named pipe, not a file\n`,
    );
    await expect(readFile(join(dir, ".parallel-progress/state.json"))).rejects.toThrow(/ENOENT/);
  });

  it("without task.md, --issue and --repo stand in for it", async () => {
    const { gh, dir, env } = await setup();
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    expect(gh.requests).toHaveLength(0); // no issue: local tracking only
    await runCli(
      [
        "init",
        "--epic",
        "E",
        "--domains",
        "a",
        "--force",
        "--issue",
        "123",
        "--repo",
        "acme/widgets",
        "--dir",
        dir,
      ],
      { env },
    );
    expect(gh.comments("acme/widgets", 123)).toHaveLength(1);
    // Later commands keep the issue and repository given at init.
    await runCli(["complete", "a", "--dir", dir, "--min-interval", "0"], { env });
    expect(gh.comments("acme/widgets", 123)[0]!.body).toContain("✅ Completed");
  });

  it("finds the repository in GITHUB_REPOSITORY, else in the git origin remote", async () => {
    const { gh, dir, env } = await setup("---\ngithub:\n  issue_number: 123\n---\n");
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], {
      env: { ...env, GITHUB_REPOSITORY: "acme/widgets" },
    });
    expect(gh.comments("acme/widgets", 123)).toHaveLength(1);
    gh.reset();
    // The origin on the API's host (the fake GitHub's here, as github.com is api.github.com's).
    await mkdir(join(dir, ".git"));
    const origin = (url: string) =>
      writeFile(join(dir, ".git/config"), `[core]\n\tbare = false\n[remote "origin"]\n\turl = ${url}\n`);
    const host = new URL(gh.url).hostname;
    await origin(`git@${host}:acme/widgets.git`);
    await runCli(["init", "--epic", "E", "--domains", "b", "--force", "--dir", dir], { env });
    expect(gh.comments("acme/widgets", 123)).toHaveLength(1);

    // An origin on another host than the API's is not taken: acme/widgets there is not this one.
    gh.reset();
    await origin("git@github.com:acme/widgets.git");
    const elsewhere = await runCli(["init", "--epic", "E", "--domains", "c", "--force", "--dir", dir], {
      env,
    });
    expect(elsewhere.code).toBe(0);
    expect(elsewhere.stderr).toContain(
      `the git origin remote is on github.com, not ${host} where posts go, so its repository is not taken`,
    );
    expect(gh.requests).toHaveLength(0);
  });

  it("records its own last_synced edit as what the run read of task.md (a later status does not parse it again)", async () => {
    const { dir, env } = await setup(taskMd(123, "  min_interval_ms: 0\n"));
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    await runCli(["complete", "a", "--dir", dir], { env });
    expect((await runCli(["finalize", "--dir", dir], { env })).code).toBe(0);
    const task = await readFile(join(dir, "task.md"), "utf8");
    expect(task).toContain("last_synced:");
    const seen = JSON.parse(await readFile(join(dir, ".parallel-progress/task-file.json"), "utf8"));
    expect(seen.taskFile.size).toBe(Buffer.byteLength(task));
  });

  it("writes github.last_synced after a successful finalize and keeps every other byte", async () => {
    const task =
      "---\n# settings\ngithub:\n  issue_number: 123   # the tracking issue\n  repo: acme/widgets\n  last_synced: 2020-01-01T00:00:00\nowner: someone\n---\n\n# Epic body\n\nkeep *this*\n";
    const { dir, env } = await setup(task);
    // --min-interval 0: finalize's two writes need not be a second apart for what this checks.
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir, "--min-interval", "0"], { env });
    await runCli(["complete", "a", "--dir", dir], { env });
    expect((await runCli(["finalize", "--summary", "ok", "--dir", dir], { env })).code).toBe(0);
    const after = await readFile(join(dir, "task.md"), "utf8");
    const stamp = /last_synced: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\n/.exec(after)?.[1];
    expect(stamp).toBeDefined();
    expect(stamp).not.toBe("2020-01-01T00:00:00");
    expect(after).toBe(task.replace("2020-01-01T00:00:00", stamp!));
  });

  it("keeps task.md's owner, group and mode when it writes github.last_synced (run as root, it gives the file back)", async () => {
    const { dir, env } = await setup(taskMd(123, "  min_interval_ms: 0\n"));
    const path = join(dir, "task.md");
    // Run as root (a CI container), the file is given to another user first, as a checkout's would be.
    const root = process.getuid?.() === 0;
    if (root) await chown(path, 65534, 65534);
    // Group-writable (the CLI's umask, 022, takes that bit off a new file) and set-group-ID (chown takes
    // that off).
    await chmod(path, 0o2664);
    const before = await stat(path);
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    await runCli(["complete", "a", "--dir", dir], { env });
    const finalize = await runCli(["finalize", "--dir", dir], { env });
    expect(finalize.code, finalize.stderr).toBe(0);
    expect(await readFile(path, "utf8")).toContain("last_synced:");
    const after = await stat(path);
    expect({ uid: after.uid, gid: after.gid, mode: after.mode & 0o7777 }).toEqual({
      uid: before.uid,
      gid: before.gid,
      mode: 0o2664,
    });
    if (root) expect(after.uid).toBe(65534);
  });

  // No last_synced while the final summary is not on the issue (written once a later retry posts it):
  // test/sync/reporter-sync.test.ts, "records last_synced when a queued final summary is delivered".
});
