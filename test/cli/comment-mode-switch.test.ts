import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { queueFiles, runCli, stopFlushers, taskMd, waitFor } from "../support/cli.js";
import { type Harness, useFakeGitHub } from "../support/harness.js";

const fakeGitHub = useFakeGitHub("ghp_modeSwitchToken0123456789abcdefghijk");

/** Runs a command with no write interval (each change is written at once) and expects exit 0. */
async function call({ cli }: Harness, ...args: string[]): Promise<void> {
  const result = await cli(...args, "--min-interval", "0");
  expect(result.code, result.stderr).toBe(0);
}

const update = (run: Harness, files: string, ...more: string[]) =>
  call(run, "update", "a", "--status", "in_progress", "--files", files, ...more);

/** The comments as `[kind, files shown]`, oldest first. */
function shown({ gh }: Harness): [string | undefined, string | undefined][] {
  return gh
    .comments("acme/widgets", 123)
    .map((comment) => [parseMarker(comment.body)?.kind, /\| (\d+\/\d+) \|/.exec(comment.body)?.[1]]);
}

/** The comments edited (PATCH) and deleted (DELETE), by id. */
function editedAndDeleted({ gh }: Harness) {
  const ids = (method: string) =>
    gh.requests
      .filter((request) => request.method === method)
      .map((request) => request.path.split("/").pop());
  return { edited: new Set(ids("PATCH")), deleted: ids("DELETE") };
}

/** Append-mode comments (history) never edited or deleted; the run's one progress comment edited in place. */
function expectHistoryKept(run: Harness): void {
  expect(shown(run)).toEqual([
    ["progress", "4/4"],
    ["history", "1/4"],
    ["history", "2/4"],
    ["final", "4/4"],
  ]);
  const [progress] = run.gh.comments("acme/widgets", 123);
  expect(editedAndDeleted(run)).toEqual({ edited: new Set([String(progress!.id)]), deleted: [] });
}

describe("a run switched between edit and append mode", () => {
  it("by flag: the history comments stay as posted; edit mode goes back to the run's progress comment", async () => {
    const run = await fakeGitHub();
    await call(run, "init", "--epic", "E", "--domains", "a");
    await update(run, "1/4", "--comment-mode", "append");
    await update(run, "2/4");
    await update(run, "3/4", "--comment-mode", "edit");
    await update(run, "4/4");
    expect(shown(run)).toEqual([
      ["progress", "4/4"],
      ["history", "1/4"],
      ["history", "2/4"],
    ]);
    await call(run, "finalize", "--summary", "merged");
    expectHistoryKept(run);
  });

  it("by task.md's comment_mode edited mid-run: the same", async () => {
    const run = await fakeGitHub();
    const task = (mode: string) =>
      writeFile(join(run.dir, "task.md"), taskMd(123, `  comment_mode: ${mode}\n`));
    await call(run, "init", "--epic", "E", "--domains", "a");
    await task("append");
    await update(run, "1/4");
    await update(run, "2/4");
    await task("edit");
    await update(run, "3/4");
    await update(run, "4/4");
    await call(run, "finalize", "--summary", "merged");
    expectHistoryKept(run);
  });

  it("a run started in append mode and switched to edit gets one progress comment, after its history", async () => {
    const run = await fakeGitHub();
    await call(run, "init", "--epic", "E", "--domains", "a", "--comment-mode", "append");
    await update(run, "1/4");
    await update(run, "2/4", "--comment-mode", "edit");
    await update(run, "3/4");
    await call(run, "finalize", "--summary", "merged");
    expect(shown(run)).toEqual([
      ["history", "0/0"],
      ["history", "1/4"],
      ["progress", "3/4"],
      ["final", "3/4"],
    ]);
    const progress = run.gh.comments("acme/widgets", 123)[2]!;
    expect(editedAndDeleted(run)).toEqual({ edited: new Set([String(progress.id)]), deleted: [] });
  });
});

/**
 * An append-mode run whose 2/4 write failed (its history comment queued, seq 3), then switched to edit mode
 * by a 3/4 update while GitHub is still down. The write after the switch was made in edit mode without the
 * queued history, which then counted as delivered (its seq below the state's): the issue never showed 2/4.
 */
async function switchedWhileDown(run: Harness): Promise<void> {
  await call(run, "init", "--epic", "E", "--domains", "a", "--comment-mode", "append");
  await update(run, "1/4");
  run.gh.setFaults({ down: true });
  await update(run, "2/4");
  await update(run, "3/4", "--comment-mode", "edit");
}

const HISTORY_THEN_PROGRESS = [
  ["history", "0/0"],
  ["history", "1/4"],
  ["history", "2/4"],
  ["progress", "3/4"],
];

describe("a queued history comment and a switch to edit mode", () => {
  it("the background writer posts the queued history before the progress comment", async () => {
    const run = await fakeGitHub();
    await switchedWhileDown(run);
    run.gh.clearFaults();
    expect(
      await waitFor(async () => shown(run).length === 4 && (await queueFiles(run.dir)).length === 0),
    ).toBe(true);
    expect(shown(run)).toEqual(HISTORY_THEN_PROGRESS);
  });

  it("retry and finalize post it first too", async () => {
    const run = await fakeGitHub();
    await switchedWhileDown(run);
    await stopFlushers(run.dir);
    const dry = await run.cli("retry", "--dry-run");
    expect(dry.stdout).toMatch(/\tcurrent\tprogress\tacme\/widgets#123\t\S+\t3\n/);
    run.gh.clearFaults();
    const retry = await run.cli("retry");
    expect(retry.code, retry.stderr).toBe(0);
    expect(shown(run)).toEqual(HISTORY_THEN_PROGRESS);

    const second = await fakeGitHub();
    await switchedWhileDown(second);
    await stopFlushers(second.dir);
    second.gh.clearFaults();
    await call(second, "finalize", "--summary", "merged");
    expect(shown(second)).toEqual([...HISTORY_THEN_PROGRESS, ["final", "3/4"]]);
  });

  it("retry posts one the run's writes did not see, after the issue showed the newer state", async () => {
    // As on another machine of a shared run: its writer brought the issue to the latest state without
    // this machine's queued history.
    const run = await fakeGitHub();
    await switchedWhileDown(run);
    await stopFlushers(run.dir);
    const [file] = await queueFiles(run.dir);
    const aside = join(run.dir, "aside");
    await mkdir(aside);
    await rename(join(run.dir, ".github_parallel_queue", file!), join(aside, file!));
    run.gh.clearFaults();
    await call(run, "retry");
    expect(shown(run)).toEqual([
      ["history", "0/0"],
      ["history", "1/4"],
      ["progress", "3/4"],
    ]);
    await rename(join(aside, file!), join(run.dir, ".github_parallel_queue", file!));

    expect((await run.cli("retry", "--dry-run")).stdout).toContain(`${file}\tcurrent\t`);
    expect(JSON.parse((await run.cli("status", "--json")).stdout).sync.queued).toBe(1);
    // A queue folder that cannot remove the file once it is posted: counted as delivered all the same.
    const preload = join(run.dir, "refuse-rm.cjs");
    await writeFile(
      preload,
      `const fs = require("node:fs"); const rm = fs.promises.rm;
fs.promises.rm = (path, ...rest) => String(path).includes(".github_parallel_queue")
  ? Promise.reject(Object.assign(new Error("EROFS: read-only file system"), { code: "EROFS" }))
  : rm.call(fs.promises, path, ...rest);`,
    );
    const refused = (...args: string[]) =>
      runCli([...args, "--dir", run.dir], { env: { ...run.env, NODE_OPTIONS: `--require ${preload}` } });
    for (let attempt = 0; attempt < 2; attempt++) {
      const retry = await refused("retry");
      expect(retry.code, retry.stderr).toBe(0);
    }
    expect(shown(run)).toEqual([
      ["history", "0/0"],
      ["history", "1/4"],
      ["progress", "3/4"],
      ["history", "2/4"],
    ]);
    expect(await queueFiles(run.dir)).toEqual([file]);
    expect((await run.cli("retry", "--dry-run")).stdout).toContain(`${file}\tdelivered\t`);
    expect(JSON.parse((await run.cli("status", "--json")).stdout).sync.queued).toBe(0);
  });
});
