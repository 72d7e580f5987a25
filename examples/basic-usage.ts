/**
 * The original guide's "Basic Usage", in TypeScript. Run it from a project that installs
 * parallel-progress (an ES module project or a CommonJS one):
 *
 *   npx tsx examples/basic-usage.ts [epic-dir]
 *
 * Without a task.md giving `github.issue_number` (or without a token) it tracks locally only.
 */
import { mkdirSync } from "node:fs";
import { createParallelReporter } from "parallel-progress";

async function main(): Promise<void> {
  // Setup
  const epicDir = process.argv[2] ?? ".tasks/backlog/EPIC-007";
  mkdirSync(epicDir, { recursive: true });
  const reporter = createParallelReporter(epicDir, {
    onWarning: (message) => console.warn(`warning: ${message}`),
  });

  // Initialize (Phase 1B)
  const domains = ["backend", "frontend", "tests"];
  await reporter.initializeParallelTracking("EPIC-007", domains, epicDir, { force: true });

  // Execute agents (Phase 1C)
  const agentIds = Object.keys(reporter.executionState.agents);
  for (const [index, agentId] of agentIds.entries()) {
    const domain = domains[index] ?? agentId;
    // Start
    await reporter.updateAgentProgress(agentId, "in_progress", 0, 5);

    // Progress
    for (let i = 1; i <= 5; i++) {
      // ... agent does work ...
      await reporter.updateAgentProgress(agentId, "in_progress", i, 5);
    }

    // Complete
    await reporter.markAgentComplete(
      agentId,
      `${domain[0]?.toUpperCase()}${domain.slice(1)} implementation complete`,
    );
  }

  // Finalize (Phase 2)
  const result = await reporter.finalizeParallelExecution("All changes merged successfully");
  const status = await reporter.status();
  console.log(
    `${status.epicId}: ${status.overall.progress}% (${status.overall.filesCompleted}/${status.overall.filesTotal} files)`,
  );
  console.log(
    result.posted
      ? `final summary posted: ${result.finalCommentUrl}`
      : result.queued > 0
        ? `not posted: ${result.queued} post(s) queued (see the warnings above), sent by \`parallel-progress retry\``
        : "tracked locally (no GitHub sync)",
  );
}

// No top-level await: a CommonJS project's TypeScript has none.
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
