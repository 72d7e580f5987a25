import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parseDomainsOption, parseFilesOption, parseStatusOption } from "../config/options.js";
import { UsageError } from "../errors.js";
import { findAgent } from "../model/run.js";
import { addCommonOptions, type CommonOptions, createContext } from "./common.js";

/** The CLI's commands: each parses its options, calls the library, and prints the result. */
export function registerCommands(program: Command, setExitCode: (code: number) => void): void {
  addCommonOptions(
    program
      .command("init")
      .description("start a run: prints one line per agent, domain<TAB>agent-id")
      .requiredOption("--epic <id>", "epic id, e.g. EPIC-007")
      .requiredOption("--domains <a,b,c>", "comma-separated domains, one agent each", parseDomainsOption)
      .option("--json", "print the run as JSON instead")
      .option("--force", "abandon a run that is still active here and start a new one"),
  ).action(
    async (options: CommonOptions & { epic: string; domains: string[]; json?: boolean; force?: boolean }) => {
      const { out, reporter } = createContext(options);
      const agents = await reporter.initializeParallelTracking(options.epic, options.domains, undefined, {
        force: options.force ?? false,
      });
      if (options.json) out.data(JSON.stringify(await reporter.status(), null, 2));
      else out.data(agents.map(({ domain, agentId }) => `${domain}\t${agentId}`).join("\n"));
    },
  );

  addCommonOptions(
    program
      .command("update <agent>")
      .description("report an agent's status and file counts")
      .requiredOption("--status <status>", "pending, in_progress, completed or failed", parseStatusOption)
      .option(
        "--files <done/total>",
        "files done and total, e.g. 3/7 (default: unchanged)",
        parseFilesOption,
      ),
  ).action(
    async (
      agent: string,
      options: CommonOptions & { status: never; files?: { done: number; total: number } },
    ) => {
      const { reporter } = createContext(options);
      let files = options.files;
      if (!files) {
        const current = findAgent((await reporter.load()) ?? reporter.executionState, agent);
        files = { done: current.filesCompleted, total: current.filesTotal };
      }
      await reporter.updateAgentProgress(agent, options.status, files.done, files.total);
    },
  );

  addCommonOptions(
    program
      .command("complete <agent>")
      .description("mark an agent completed")
      .option("--summary <text>", "the agent's result summary"),
  ).action(async (agent: string, options: CommonOptions & { summary?: string }) => {
    const { reporter } = createContext(options);
    await reporter.markAgentComplete(agent, options.summary ?? null);
  });

  addCommonOptions(
    program
      .command("fail <agent>")
      .description("mark an agent failed, with the reason shown on the issue")
      .requiredOption("--error <text>", "why it failed"),
  ).action(async (agent: string, options: CommonOptions & { error: string }) => {
    const { reporter } = createContext(options);
    await reporter.markAgentFailed(agent, options.error);
  });

  addCommonOptions(
    program
      .command("finalize")
      .description("retry the queue, then post the final summary (idempotent)")
      .option("--summary <text>", "the merge summary")
      .option("--summary-file <path>", "read the merge summary from a file"),
  ).action(async (options: CommonOptions & { summary?: string; summaryFile?: string }) => {
    if (options.summary !== undefined && options.summaryFile !== undefined) {
      throw new UsageError("give --summary or --summary-file, not both");
    }
    const summary =
      options.summaryFile !== undefined
        ? await readSummaryFile(options.summaryFile)
        : (options.summary ?? "");
    const { out, reporter } = createContext(options);
    const result = await reporter.finalizeParallelExecution(summary);
    if (!result.finalizedNow) out.info("the run was already finalized: nothing new posted");
    if (result.posted)
      out.info(`final summary on the issue${result.commentUrl ? `: ${result.commentUrl}` : ""}`);
    if (result.queued > 0)
      out.warn(`${result.queued} post(s) remain queued: run \`parallel-progress retry\` later`);
  });

  addCommonOptions(
    program
      .command("retry")
      .description("retry the offline queue; exits 3 while posts remain queued")
      .option("--dry-run", "list what would be sent, send nothing"),
  ).action(async (options: CommonOptions & { dryRun?: boolean }) => {
    const { out, reporter } = createContext(options);
    const report = await reporter.retryReport({ dryRun: options.dryRun ?? false });
    if (options.dryRun) {
      for (const entry of report.plan) {
        const { item } = entry;
        out.data(
          [
            entry.name,
            entry.action,
            item.kind,
            `${item.repo}#${item.issue_number}`,
            item.run_id,
            item.seq,
          ].join("\t"),
        );
      }
    } else {
      out.info(`${report.sent} queued post(s) delivered, ${report.remaining} remaining`);
      for (const message of new Set(report.errors)) out.warn(`GitHub: ${message}`);
    }
    if (report.remaining > 0) setExitCode(3);
  });

  addCommonOptions(
    program
      .command("status")
      .description("show the run: a coloured table, --json, or --markdown (the comment body)")
      .option("--json", "print the run as JSON")
      .option("--markdown", "print the progress comment body"),
  ).action(async (options: CommonOptions & { json?: boolean; markdown?: boolean }) => {
    if (options.json && options.markdown) throw new UsageError("give --json or --markdown, not both");
    const { out, reporter } = createContext(options);
    const view = await reporter.status();
    if (options.json) {
      out.data(JSON.stringify(view, null, 2));
      return;
    }
    const state = reporter.executionState;
    if (options.markdown) {
      const { renderProgressComment, renderFinalComment } = await import("../render/progress-comment.js");
      out.data(state.completedAt ? renderFinalComment(state) : renderProgressComment(state));
      return;
    }
    const [{ default: chalk }, { renderTerminalTable }] = await Promise.all([
      import("chalk"),
      import("../render/terminal.js"),
    ]);
    out.data(
      renderTerminalTable(state, {
        color: chalk.level > 0 ? chalk : null,
        width: process.stdout.columns ?? 100,
      }),
    );
  });

  addCommonOptions(program.command("__flush", { hidden: true })).action(async (options: CommonOptions) => {
    const { reporter } = createContext({ ...options, quiet: true });
    await reporter.runFlusher();
  });
}

async function readSummaryFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `--summary-file: cannot read "${path}": ${(error as NodeJS.ErrnoException).code ?? error}`,
      {
        cause: error,
      },
    );
  }
}
