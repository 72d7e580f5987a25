import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { taskMd } from "../support/cli.js";
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
