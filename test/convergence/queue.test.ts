import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { queueFiles } from "../support/cli.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

/**
 * The offline queue keeps the truth, in-process on a simulated clock (moved from test/cli/github.test.ts,
 * issue 10 item 6): `retryReport().remaining > 0` is what makes `parallel-progress retry` exit 3.
 */

const inProcess = useInProcessGitHub("ghp_queuetoken0123456789abcdefghijklmnopq");

describe("the offline queue keeps the truth", () => {
  it("a finalize GitHub never saw: the final summary is queued once, survives a new init, and is posted once", async () => {
    const run = await inProcess();
    const { gh, dir } = run;
    const finals = () =>
      gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    gh.setFaults({ dropRate: 1 });
    await run.reporter().initializeParallelTracking("OLD", ["a"]);
    const completer = run.reporter();
    await completer.markAgentComplete(Object.keys((await completer.load())!.agents)[0]!);
    await run.reporter().finalizeParallelExecution("merged while offline");
    await run.settle();
    const kinds = async () =>
      Promise.all(
        (await queueFiles(dir)).map(
          async (name) =>
            JSON.parse(await readFile(join(dir, ".github_parallel_queue", name), "utf8")).kind as string,
        ),
      );
    expect(await kinds()).toContain("final");
    const count = (await queueFiles(dir)).length;
    for (let i = 0; i < 2; i++) {
      run.time.advance(60_000);
      expect((await run.reporter().retryReport()).remaining).toBeGreaterThan(0);
    }
    expect((await queueFiles(dir)).length, "GitHub still down: no new file per attempt").toBe(count);

    await run.reporter().initializeParallelTracking("NEW", ["b"]); // the old run is gone
    await run.settle();
    gh.setFaults({ dropRate: 0 });
    run.time.advance(60_000);
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(finals()).toHaveLength(1);
    expect(finals()[0]!.body).toContain("merged while offline");
    expect((await run.reporter().retryReport()).remaining).toBe(0);
    expect(finals()).toHaveLength(1);
  });
});
