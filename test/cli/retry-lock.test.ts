import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { spawnCli, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

/**
 * Retries that meet another retry's lock (the run's `sync.retryLock`) while GitHub hangs: the CLI as
 * processes against the fake GitHub's `hang` fault. Real time: each waits out a command's deadline (9.5 s),
 * so the two run at once.
 */

const TOKEN = "ghp_retrylock0123456789abcdefghijklmnopq";
const fakeGitHub = useFakeGitHub(TOKEN);

async function retryLockHeld(dir: string): Promise<boolean> {
  const text = await readFile(join(dir, ".parallel-progress", "state.json"), "utf8").catch(() => "{}");
  return Boolean((JSON.parse(text) as { sync?: { retryLock?: unknown } }).sync?.retryLock);
}

describe.concurrent("a retry that meets another retry's lock", () => {
  it("two retries at once while GitHub hangs: each exits 3 with a line saying what stays queued", async (test) => {
    const { gh, cli, dir, env } = await fakeGitHub({ test });
    expect((await cli("init", "--epic", "R1", "--domains", "a")).code).toBe(0);
    gh.setFaults({ down: true });
    expect((await cli("complete", "a")).code).toBe(0);
    gh.setFaults({ down: false, hang: true });
    const retries = [0, 1].map(() => spawnCli(["retry", "--dir", dir], { env }));
    const results = await Promise.all(retries.map((retry) => retry.done));
    gh.clearFaults();
    for (const result of results) {
      expect(result.code).toBe(3);
      const lines = result.stderr.trim().split("\n");
      // How many depends on what the background writer of `complete` queued meanwhile: one or more.
      expect(lines.at(-1)).toMatch(/^parallel-progress: warning: [1-9]\d* post\(s\) remain to be sent/);
      expect(lines.length, "and why").toBeGreaterThan(1);
    }
  }, 60_000);

  it("a retry killed while it holds the lock: finalize waits no longer than its deadline and the summary still lands", async (test) => {
    const { gh, cli, dir, env } = await fakeGitHub({ test });
    expect((await cli("init", "--epic", "R2", "--domains", "a")).code).toBe(0);
    gh.setFaults({ down: true });
    expect((await cli("complete", "a")).code).toBe(0);
    gh.setFaults({ down: false, hang: true });
    const retry = spawnCli(["retry", "--dir", dir], { env });
    expect(await waitFor(() => retryLockHeld(dir))).toBe(true);
    retry.child.kill("SIGKILL");
    await retry.done;
    gh.clearFaults();

    const finalize = await cli("finalize", "--summary", "merged");
    expect(finalize.code).toBe(0);
    expect(finalize.stderr).toMatch(/another retry held the queue until this command's time ran out/);
    // Left to a background writer once the killed retry's leases end: no further command.
    const finals = () =>
      gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    expect(await waitFor(() => finals().length === 1, 40_000, 200)).toBe(true);
  }, 90_000);
});
