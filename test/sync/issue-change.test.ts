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
      expect((error as Error).message).toMatch(/^\w+: task\.md github\.issue_number /);
      expect((error as Error).message).toMatch(refused);
    }
    const flagged = run.reporter({ github: { issueNumber: 4567 } });
    await expect(flagged.markAgentComplete("a", "done")).rejects.toThrow(
      /^markAgentComplete: --issue names acme\/widgets#4567/,
    );
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

describe("changing the repository of a run", () => {
  it("is refused while the run is active, though it has no issue yet (UsageError naming both); the run untouched", async () => {
    const run = await setup({ task: "# Epic, no settings\n" });
    const { gh, dir } = run;
    const reporter = run.reporter({ github: { repo: "acme/widgets" } });
    await reporter.initializeParallelTracking("MV2", ["api"]);
    const before = await reporter.load();

    const moved = run.reporter({ github: { repo: "other/x", issueNumber: 5 } });
    const error = await moved.updateAgentProgress("api", "in_progress", 1, 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(
      /^updateAgentProgress: --repo names other\/x, but run \S+ \(epic MV2\) belongs to acme\/widgets: a run stays in one repository/,
    );
    expect(await reporter.load()).toEqual(before);
    await writeFile(join(dir, "task.md"), "---\ngithub:\n  repo: other/x\n---\n");
    // Another process, with no repository of its own: task.md's does not move the run, whose repository
    // its caller gave (an option wins over task.md); the change is made, with a warning.
    const plain = run.reporter();
    const warnings: string[] = [];
    plain.on("warning", (message) => warnings.push(message));
    await plain.updateAgentProgress("api", "in_progress", 1, 2);
    expect(warnings).toEqual([
      `task.md github.repo "other/x" (the run's: "acme/widgets"): the run keeps its own, given by a flag, which wins over task.md`,
    ]);
    expect((await reporter.load())?.github.repo).toBe("acme/widgets");
    expect(gh.requests).toEqual([]);

    // The run's own repository, case aside, and an issue for it are taken; the run keeps its spelling.
    await writeFile(join(dir, "task.md"), "---\ngithub:\n  repo: ACME/widgets\n  issue_number: 123\n---\n");
    await plain.updateAgentProgress("api", "in_progress", 1, 2);
    const status = await plain.status();
    expect([status.repo, status.issueNumber]).toEqual(["acme/widgets", 123]);
  });
});
