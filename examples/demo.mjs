#!/usr/bin/env node
// The demo behind `npm run demo`: a simulated run of three agents working in parallel.
// Local tracking by default; it posts to GitHub when an issue is given and a token is set:
//   GITHUB_TOKEN=... npm run demo -- --issue 123 --repo owner/name
// Options: --dir <epic-dir> (default: a new temporary directory; never one holding another epic's active
// run), --fast (no pauses).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createParallelReporter, UnreadableStateError, UsageError } from "../dist/lib/index.js";
import { renderTerminalTable } from "../dist/lib/render/terminal.js";

/** The temporary folder the demo made, until its run starts there: removed if the demo is refused. */
let madeDir = null;

/** The caller's mistake: one line, exit 2 (as the CLI does). */
function usage(message) {
  if (madeDir !== null) rmSync(madeDir, { recursive: true, force: true });
  process.stderr.write(`demo: ${message}\n`);
  process.exit(2);
}

// A mistake in an option the library checks (--repo, --api-url): one line too, not a stack.
process.on("uncaughtException", (error) => {
  if (error instanceof UsageError) usage(error.message);
  console.error(error);
  process.exit(1);
});

let values;
try {
  ({ values } = parseArgs({
    options: {
      dir: { type: "string" },
      issue: { type: "string" },
      repo: { type: "string" },
      "api-url": { type: "string" },
      fast: { type: "boolean", default: false },
    },
  }));
} catch (error) {
  usage(error.message);
}
if (values.issue !== undefined && !/^[1-9]\d*$/.test(values.issue)) {
  usage(`--issue must be a positive integer, got ${JSON.stringify(values.issue)}`);
}

if (values.dir === undefined) madeDir = mkdtempSync(join(tmpdir(), "parallel-progress-demo-"));
const epicDir = values.dir ?? madeDir;
const github = {};
if (values.issue) github.issueNumber = Number(values.issue);
if (values.repo) github.repo = values.repo;
if (values["api-url"]) github.apiUrl = values["api-url"];

const reporter = createParallelReporter(epicDir, {
  github,
  onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
});
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, values.fast ? 0 : ms));

// Run again in the same --dir, the demo replaces its own earlier run; never another epic's active run.
const earlier = await reporter.load().catch((error) => {
  // A state that cannot be read may be another epic's active run: left as it is.
  if (!(error instanceof UnreadableStateError)) throw error;
  usage(
    `--dir ${JSON.stringify(epicDir)} holds a run state that cannot be read (${error.problem}): the demo does not replace it (give another --dir, or a new one)`,
  );
});
if (earlier && earlier.completedAt === null && earlier.epicId !== "EPIC-DEMO") {
  usage(
    `--dir ${JSON.stringify(epicDir)} holds an active run of epic ${JSON.stringify(earlier.epicId)}: the demo does not replace it (give another --dir, or a new one)`,
  );
}
console.log(`epic directory: ${epicDir}`);
const agents = await reporter.initializeParallelTracking(
  "EPIC-DEMO",
  ["backend", "frontend", "tests"],
  epicDir,
  {
    force: true,
  },
);
madeDir = null;
const state = reporter.executionState;
console.log(
  state.github.issueNumber && state.github.repo
    ? `syncing to ${state.github.repo}#${state.github.issueNumber} (when a token is set)`
    : "local tracking only (give --issue N --repo owner/name and GITHUB_TOKEN to post to GitHub)",
);

const plan = { backend: 7, frontend: 5, tests: 4 };
await Promise.all(
  agents.map(async ({ agentId, domain }) => {
    const total = plan[domain];
    await reporter.updateAgentProgress(agentId, "in_progress", 0, total);
    for (let done = 1; done <= total; done++) {
      await pause(150 + Math.random() * 250);
      await reporter.updateAgentProgress(agentId, "in_progress", done, total);
      console.log(`${domain.padEnd(9)} ${done}/${total}`);
    }
    await reporter.markAgentComplete(agentId, `${domain} implementation complete`);
  }),
);

const result = await reporter.finalizeParallelExecution(
  [
    "All parallel worktrees merged successfully.",
    ...agents.map(({ domain }) => `- ${domain}: ${plan[domain]} files integrated`),
  ].join("\n"),
);
console.log();
console.log(
  renderTerminalTable(reporter.executionState, { color: null, width: process.stdout.columns ?? 100 }),
);
console.log();
console.log(
  result.posted
    ? `final summary posted: ${result.finalCommentUrl} (progress comment: ${result.commentUrl})`
    : result.queued > 0
      ? `not posted (see the warnings above): ${result.queued} post(s) queued in ${join(epicDir, ".github_parallel_queue")}`
      : "done (local tracking only)",
);
