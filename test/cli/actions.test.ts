import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startServe } from "../serve/serve-process.js";
import { openEvents } from "../serve/sse-client.js";
import { makeEpic, runCli } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const TOKEN = "ghp_actionstoken0123456789abcdefghijklmno";
const fakeGitHub = useFakeGitHub(TOKEN, "github-actions[bot]");
let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe("inside GitHub Actions (GITHUB_ACTIONS=true)", () => {
  it("sets the comment-url output, appends the final table to the step summary, annotates warnings", async () => {
    const { gh: github, dir } = await fakeGitHub();
    const epic = { dir };
    const output = join(epic.dir, "github-output.txt");
    const summary = join(epic.dir, "step-summary.md");
    await writeFile(output, "");
    await writeFile(summary, "");
    const env = {
      GITHUB_ACTIONS: "true",
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.url,
    };
    const cli = (...args: string[]) => runCli([...args, "--dir", epic.dir], { env });

    // --min-interval 0 (saved in the run): finalize's two writes need not be 1 s apart for what this checks.
    expect((await cli("init", "--epic", "E", "--domains", "backend,tests", "--min-interval", "0")).code).toBe(
      0,
    );
    expect(await readFile(output, "utf8")).toMatch(
      /^comment-url=https:\/\/github\.com\/acme\/widgets\/issues\/123#issuecomment-\d+\n$/,
    );

    // A 403 (an Actions token without issues: write): a failure the client does not retry, so no 5xx
    // retries are waited out here.
    github.setFaults({
      script: [{ status: 403, message: "Resource not accessible by integration", times: 1 }],
    });
    const failing = await cli("fail", "tests", "--error", "boom 100%\nsecond line");
    expect(failing.code).toBe(0);
    expect(failing.stderr).toMatch(/^::warning title=parallel-progress::GitHub: .*queued as comment_/m);
    expect(failing.stderr).not.toContain("parallel-progress: warning:");

    expect((await cli("complete", "backend")).code).toBe(0);
    expect((await cli("finalize", "--summary", "merged")).code).toBe(0);
    const table = await readFile(summary, "utf8");
    expect(table).toContain("## 🔄 Parallel Execution Progress");
    expect(table).toContain("## 🎉 Final Summary");
    expect(table).not.toContain("<!-- parallel-progress");
    // A second finalize adds nothing to the summary.
    await cli("finalize", "--summary", "merged");
    expect((await readFile(summary, "utf8")).match(/Final Summary/g)).toHaveLength(1);
  });

  it("a GITHUB_OUTPUT or GITHUB_STEP_SUMMARY that cannot be written is a warning: the command's work is done, exit 0", async () => {
    const { gh: github, dir } = await fakeGitHub();
    const folder = join(dir, "not-a-file"); // a directory: EISDIR
    await mkdir(folder);
    const output = join(dir, "github-output.txt");
    await writeFile(output, "");
    const env = { GITHUB_ACTIONS: "true", GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url };
    const cli = (extra: Record<string, string>, ...args: string[]) =>
      runCli([...args, "--dir", dir], { env: { ...env, ...extra } });

    expect((await cli({}, "init", "--epic", "E", "--domains", "a", "--min-interval", "0")).code).toBe(0);
    const files = ["--status", "in_progress", "--files", "2/5"];
    const update = await cli({ GITHUB_OUTPUT: folder }, "update", "a", ...files);
    expect(update.code).toBe(0);
    expect(update.stderr).toMatch(
      /^::warning title=parallel-progress::GITHUB_OUTPUT ".*not-a-file" cannot be written \(EISDIR\): comment-url not set$/m,
    );
    expect((await cli({}, "status", "--json")).stdout).toContain('"filesCompleted": 2');
    // A named pipe nobody reads: refused at once (its write had waited for a reader for ever).
    const pipe = join(dir, "output-pipe");
    execFileSync("mkfifo", [pipe]);
    const piped = await cli(
      { GITHUB_OUTPUT: pipe },
      "update",
      "a",
      "--status",
      "in_progress",
      "--files",
      "3/5",
    );
    expect(piped.code).toBe(0);
    expect(piped.stderr).toMatch(
      /^::warning title=parallel-progress::GITHUB_OUTPUT ".*output-pipe" cannot be written \(ENXIO\): comment-url not set$/m,
    );

    expect((await cli({}, "complete", "a")).code).toBe(0);
    const finalize = await cli({ GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: folder }, "finalize");
    expect(finalize.code).toBe(0);
    expect(finalize.stderr).toMatch(
      /^::warning title=parallel-progress::GITHUB_STEP_SUMMARY ".*not-a-file" cannot be written \(EISDIR\): no job summary$/m,
    );
    // The rest of the command was done: the summary posted, the output set.
    const bodies = github.comments("acme/widgets", 123).map((c) => c.body);
    expect(bodies.some((body) => body.includes("## 🎉 Final Summary"))).toBe(true);
    expect(await readFile(output, "utf8")).toMatch(/^comment-url=https:\/\/github\.com\//);
  });

  it("starts on a new line in a GITHUB_OUTPUT or GITHUB_STEP_SUMMARY an earlier step left without one", async () => {
    const { gh: github, dir } = await fakeGitHub();
    const output = join(dir, "github-output.txt");
    const summary = join(dir, "step-summary.md");
    await writeFile(output, "foo=bar"); // printf 'foo=bar' >> "$GITHUB_OUTPUT"
    await writeFile(summary, "Tests passed");
    const env = { GITHUB_ACTIONS: "true", GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url };
    const cli = (...args: string[]) =>
      runCli([...args, "--dir", dir], {
        env: { ...env, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary },
      });

    const init = await cli("init", "--epic", "E", "--domains", "a", "--min-interval", "0");
    expect(init.code).toBe(0);
    expect(init.stderr).toBe("");
    expect(await readFile(output, "utf8")).toMatch(
      /^foo=bar\ncomment-url=https:\/\/github\.com\/acme\/widgets\/issues\/123#issuecomment-\d+\n$/,
    );
    expect((await cli("complete", "a")).code).toBe(0);
    expect((await cli("finalize", "--summary", "merged")).code).toBe(0);
    expect(await readFile(summary, "utf8")).toMatch(/^Tests passed\n## 🔄 Parallel Execution Progress\n/);
  });

  it("takes a GITHUB_OUTPUT of white space only for unset, as an empty one: no file named by spaces", async () => {
    const { gh: github, dir } = await fakeGitHub();
    const env = { GITHUB_ACTIONS: "true", GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url };
    // Run in the epic directory, where a relative path would be made.
    const cli = (...args: string[]) =>
      runCli(args, { cwd: dir, env: { ...env, GITHUB_OUTPUT: "   ", GITHUB_STEP_SUMMARY: " \t" } });
    for (const args of [["init", "--epic", "E", "--domains", "a", "--min-interval", "0"], ["finalize"]]) {
      const result = await cli(...args);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
    }
    expect((await readdir(dir)).filter((name) => name.trim() === "")).toEqual([]);
  });

  it("annotates the warnings of serve too, as every command's (one output for all)", async () => {
    const epic = await makeEpic();
    cleanup = epic.cleanup;
    const serve = await startServe(["--dir", epic.dir, "--port", "0"], { GITHUB_ACTIONS: "true" });
    const stream = await openEvents(`${serve.url}events`);
    await stream.next((e) => e.event === "snapshot");
    stream.close();
    expect(await serve.stop()).toBe(0);
    expect((await serve.done).stderr).toMatch(
      /^::warning title=parallel-progress::no run in .* yet: the page shows it once `init` starts one$/m,
    );
  });

  it("writes nothing Actions-specific outside Actions", async () => {
    const epic = await makeEpic();
    cleanup = epic.cleanup;
    const output = join(epic.dir, "github-output.txt");
    await writeFile(output, "");
    await runCli(["init", "--epic", "E", "--domains", "a", "--dir", epic.dir], {
      env: { GITHUB_OUTPUT: output },
    });
    expect(await readFile(output, "utf8")).toBe("");
  });
});
