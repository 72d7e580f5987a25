import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { queueFiles, runCli, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

/**
 * The machine's clock steps back during a command (an NTP correction). The command's deadlines then move
 * on with real time (atLeastRealTime), in fractions of a millisecond from performance.now(): a fraction
 * that reached a request's timeout (AbortSignal.timeout takes whole milliseconds) made every request fail
 * inside the program, and the final summary was queued.
 */

const fakeGitHub = useFakeGitHub("ghp_clockstep0123456789abcdefghijklmnop");

describe("a clock stepped back during finalize", () => {
  it("posts the final summary all the same: nothing queued, no error", { timeout: 30_000 }, async () => {
    const { gh, dir, env, cli } = await fakeGitHub();
    expect((await cli("init", "--epic", "STEP", "--domains", "a")).code).toBe(0);
    expect((await cli("complete", "a")).code).toBe(0);
    // Its background writer's edit: finalize comes within the second after it, and its writes wait.
    expect(await waitFor(() => gh.requests.some((r) => r.method === "PATCH"))).toBe(true);
    // Date.now() steps back 5.3 s once the process has run 300 ms, as finalize waits out the write spacing:
    // its requests go out more than 1.5 s into the command, with under 8 s of its time left.
    const stepBack = join(dir, "step-back.cjs");
    await writeFile(
      stepBack,
      "const real = Date.now; const start = real();\n" +
        "Date.now = () => { const n = real(); return n - start > 300 ? n - 5300 : n; };\n",
    );
    const finalize = await runCli(["finalize", "--summary", "merged", "--dir", dir], {
      env: { ...env, NODE_OPTIONS: `--require ${stepBack}` },
    });
    expect(finalize.stderr).toBe("");
    expect(finalize.code).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    const finals = gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    expect(finals).toHaveLength(1);
  });
});
