import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { flusherPids, spawnCli, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const fakeGitHub = useFakeGitHub("ghp_takeovercli0123456789abcdefghijklmno");

describe("a writer killed with SIGKILL mid-write (issue 11, item 1)", () => {
  it("is taken over when its lease expires; the issue ends showing the run's latest state", async () => {
    const { gh, dir, env, cli } = await fakeGitHub({
      task: null,
      fake: { repos: ["o/r"], issues: [{ repo: "o/r", number: 67 }] },
    });
    const state = async () => JSON.parse(await readFile(join(dir, ".parallel-progress/state.json"), "utf8"));
    const onIssue = () => parseMarker(gh.comments("o/r", 67)[0]?.body ?? "")?.seq;
    expect(
      (await cli("init", "--epic", "L", "--domains", "a,b", "--issue", "67", "--repo", "o/r")).code,
    ).toBe(0);
    expect(onIssue()).toBe(1);
    // The next write falls due 1 s after the first; the writer of seq 2 meets a slow GitHub and is killed.
    expect(await waitFor(async () => (await state()).sync.lastWriteAt + 1000 < Date.now(), 5000, 20)).toBe(
      true,
    );
    gh.setFaults({ latencyMs: 3000 });
    const killed = spawnCli(["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir], {
      env,
    });
    expect(await waitFor(() => gh.delayed === 1, 10_000, 10)).toBe(true);
    killed.child.kill("SIGKILL");
    expect((await killed.done).signal).toBe("SIGKILL");
    gh.setFaults({ latencyMs: 0 });
    expect((await cli("update", "b", "--status", "in_progress", "--files", "1/2")).code).toBe(0);

    // The killed writer's lease stands until it expires (this fake drops a request whose client died;
    // test/sync/takeover.test.ts has its edit land late): the run is at seq 3, the issue still at 1.
    const held = await state();
    expect(held.seq).toBe(3);
    expect(onIssue()).toBe(1);
    // Once the lease expires the background writer takes over and the issue reaches seq 3 to stay.
    expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 40_000, 100)).toBe(true);
    const after = await state();
    expect(onIssue()).toBe(3);
    expect(after.sync).toMatchObject({ postedSeq: 3, lease: null, flusher: null, settleUntil: 0 });
    expect(gh.comments("o/r", 67)).toHaveLength(1);
    const status = await cli("status");
    expect(status.stdout).toContain("up to date");
  }, 60_000);
});
