import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { parseMarker } from "../../src/render/marker.js";
import { taskMd } from "../support/cli.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

const setup = useInProcessGitHub();
const ISSUES = [
  { repo: "acme/widgets", number: 123 },
  { repo: "acme/widgets", number: 4567 },
];

describe("changing the issue of a run", () => {
  it("is refused while the run is active (task.md or --issue), naming both; every part keeps the run's issue", async () => {
    const run = await setup({ fake: { issues: ISSUES } });
    const { gh, dir } = run;
    const reporter = run.reporter();
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    run.time.advance(1100);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    const before = await reporter.load();

    await writeFile(join(dir, "task.md"), taskMd(4567));
    run.time.advance(1100);
    const refused = /names acme\/widgets#4567, but run .* posts to acme\/widgets#123/;
    for (const attempt of [
      () => reporter.updateAgentProgress("a", "in_progress", 2, 2),
      () => reporter.retryReport(),
      () => reporter.finalizeParallelExecution("merged"),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(/^task\.md github\.issue_number /);
      expect((error as Error).message).toMatch(refused);
    }
    const flagged = run.reporter({ github: { issueNumber: 4567 } });
    await expect(flagged.markAgentComplete("a", "done")).rejects.toThrow(/^--issue names acme\/widgets#4567/);
    // Nothing changed: the state, the status and the issues.
    expect(await reporter.load()).toEqual(before);
    expect((await reporter.status()).issueNumber).toBe(123);
    expect(gh.comments("acme/widgets", 4567)).toEqual([]);

    // Put back, the run goes on and is finalized on its issue.
    await writeFile(join(dir, "task.md"), taskMd(123));
    await reporter.markAgentComplete("a", "done");
    run.time.advance(1100);
    expect((await reporter.finalizeParallelExecution("merged")).posted).toBe(true);

    // After finalize the new number is for the next run: the finished run stays where it is.
    await writeFile(join(dir, "task.md"), taskMd(4567));
    expect((await reporter.retryReport()).remaining).toBe(0);
    expect((await reporter.finalizeParallelExecution("merged")).finalizedNow).toBe(false);
    expect((await reporter.status()).issueNumber).toBe(123);
    expect(gh.comments("acme/widgets", 4567)).toEqual([]);
    const kinds = gh.comments("acme/widgets", 123).map((c) => parseMarker(c.body)?.kind);
    expect(kinds).toEqual(["progress", "final"]);
  });
});
