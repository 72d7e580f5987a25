import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { pauseFlushers, queueFiles, waitFor } from "../support/cli.js";
import type { FakeGitHub } from "../support/fake-github/index.js";
import { type Harness, useFakeGitHub } from "../support/harness.js";

/**
 * Writes GitHub does not answer within the CLI's budget (8 s a request, 9.5 s a command), held by the
 * fake GitHub's `late` fault and applied after the client gave up, as GitHub finishes a request it
 * received. The CLI as processes, the detached background writer included. Real time: each test waits
 * out a timeout and the 15 s window after it (the logic on a simulated clock: test/sync/unanswered-writes.test.ts),
 * so the two run at once, each with a fake GitHub and an epic directory of its own (about 28 s, not 55).
 */

const TOKEN = "ghp_latetoken0123456789abcdefghijklmnopqr";
const fakeGitHub = useFakeGitHub(TOKEN);

const seqs = (gh: FakeGitHub, kind: "progress" | "final") =>
  gh
    .comments("acme/widgets", 123)
    .map((c) => parseMarker(c.body))
    .filter((m) => m?.kind === kind)
    .map((m) => m!.seq);

async function statusJson(cli: Harness["cli"]) {
  const view = JSON.parse((await cli("status", "--json")).stdout) as {
    sync: { seq: number; postedSeq: number; settleUntil: string | null; finalPosted: boolean };
  };
  return view.sync;
}

describe.concurrent("a write GitHub applies after the CLI gave up on it", () => {
  it("a late edit over the final state is repaired by the background writer, with no further command", async (test) => {
    const { gh, cli, dir } = await fakeGitHub({ test });
    expect((await cli("init", "--epic", "E11", "--domains", "a,b")).code).toBe(0);
    expect((await cli("update", "b", "--status", "in_progress", "--files", "1/2")).code).toBe(0);
    expect(await waitFor(() => seqs(gh, "progress")[0] === 2)).toBe(true);
    gh.setFaults({ late: { method: "PATCH" } });
    // Written by this call or by a background writer: either way GitHub holds it and the writer gives up.
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/3")).code).toBe(0);
    expect(await waitFor(async () => (await queueFiles(dir)).length > 0, 15_000)).toBe(true);
    gh.setFaults({ late: null });
    expect((await cli("complete", "a")).code).toBe(0);
    expect((await cli("complete", "b")).code).toBe(0);
    expect((await cli("finalize", "--summary", "s")).code).toBe(0);
    const latest = (await statusJson(cli)).seq;
    expect(seqs(gh, "progress")).toEqual([latest]);

    const before = gh.writes.length;
    await gh.applyLate();
    const late = gh.writes.length - before;
    expect(seqs(gh, "progress")[0]).toBe(3); // the stale table, over the final one
    expect((await statusJson(cli)).settleUntil).not.toBeNull();
    expect((await cli("status")).stdout).toMatch(/^GitHub: .*; written again at \d\d:\d\d:\d\d UTC /m);

    expect(await waitFor(() => seqs(gh, "progress")[0] === latest, 30_000, 200)).toBe(true);
    expect(await waitFor(async () => (await statusJson(cli)).settleUntil === null, 5000)).toBe(true);
    expect(seqs(gh, "progress")).toEqual([latest]);
    expect(seqs(gh, "final")).toHaveLength(1);
    // Our writes (all but those GitHub applied late) stay at least the interval apart, the repeat included.
    const ours = [...gh.writes.slice(0, before), ...gh.writes.slice(before + late)];
    const gaps = ours.slice(1).map((at, i) => at - ours[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(990);
  }, 90_000);

  it("a final summary whose post timed out: a retry right away does not post it again", async (test) => {
    const { gh, cli, dir } = await fakeGitHub({ test });
    expect((await cli("init", "--epic", "E12", "--domains", "a,b")).code).toBe(0);
    expect((await cli("complete", "a")).code).toBe(0);
    expect((await cli("complete", "b")).code).toBe(0);
    expect(await waitFor(async () => (await statusJson(cli)).postedSeq === 3, 15_000)).toBe(true);
    gh.setFaults({ late: { method: "POST" } });
    // The background writer the completes started is alive and would wake on the finalize and race it for
    // the final post: paused, the finalize makes the post itself.
    const resume = await pauseFlushers(dir);
    const finalize = await cli("finalize", "--summary", "x");
    resume();
    expect(finalize.code).toBe(0);
    expect(finalize.stderr).toMatch(/may have been created, so it was not sent again/);
    gh.setFaults({ late: null });

    const retry = await cli("retry");
    expect(retry.code).toBe(3);
    expect(retry.stderr).toMatch(/may still appear until \d\d:\d\d:\d\d UTC/);
    expect(seqs(gh, "final")).toEqual([]);

    await gh.applyLate();
    expect(seqs(gh, "final")).toHaveLength(1);
    // The background writer finds it once the window is over and records it: the queue empties.
    expect(await waitFor(async () => (await statusJson(cli)).finalPosted, 30_000, 200)).toBe(true);
    expect(await waitFor(async () => (await queueFiles(dir)).length === 0, 5000)).toBe(true);
    // And records it in task.md, as the finalize that left it to the writer would have.
    const task = () => readFile(join(dir, "task.md"), "utf8");
    expect(await waitFor(async () => /\n {2}last_synced: \S+\n/.test(await task()), 5000)).toBe(true);
    expect((await cli("retry")).code).toBe(0);
    expect(seqs(gh, "final")).toHaveLength(1);
    expect(seqs(gh, "progress")).toHaveLength(1);
  }, 90_000);
});
