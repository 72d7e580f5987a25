import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { MAX_BODY_LENGTH } from "../support/fake-github/index.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

/**
 * A huge run on the fake GitHub, in-process (moved from test/cli/hostile.test.ts, which keeps the CLI's
 * 1,500-line init output): every body stays within GitHub's limit whatever the agents write.
 */

const inProcess = useInProcessGitHub("ghp_hugeruntoken0123456789abcdefghijklmno");

describe("huge runs on the issue", () => {
  it("1,500 domains, 40 long failures and a 100,000-character summary: every body within the limit", async () => {
    const run = await inProcess();
    const { gh } = run;
    const byKind = (kind: "progress" | "final") =>
      gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === kind);
    const domains = Array.from({ length: 1500 }, (_, i) => `domain-${String(i).padStart(4, "0")}`);
    const agents = await run.reporter().initializeParallelTracking("E", domains);
    expect(new Set(agents.map((a) => a.agentId)).size).toBe(1500);
    for (let i = 0; i < 40; i++) {
      await run.reporter().markAgentFailed(agents[i]!.agentId, `failure ${i}: ${"x".repeat(3000)}`);
    }
    await run.reporter().markAgentComplete(agents[100]!.agentId);
    await run.settle();
    const body = byKind("progress")[0]!.body;
    expect(body.length).toBeLessThanOrEqual(MAX_BODY_LENGTH);
    expect(body).toContain("**Mode:** Parallel (1500 domains)");
    expect(body).toContain("**Overall:**");
    expect(gh.requests.filter((r) => r.status === 422)).toEqual([]);
    const result = await run.reporter().finalizeParallelExecution("y".repeat(100_000));
    expect(result.posted).toBe(true);
    const final = byKind("final");
    expect(final).toHaveLength(1);
    expect(final[0]!.body.length).toBeLessThanOrEqual(MAX_BODY_LENGTH);
    expect(gh.requests.filter((r) => r.status === 422)).toEqual([]);
  }, 60_000);
});
