import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  parseDomainsOption,
  parseFilesOption,
  parseStallAfterOption,
  parseStatusOption,
} from "../config/options.js";
import { UsageError } from "../errors.js";
import { findAgent } from "../model/run.js";
import type { AgentStatus } from "../model/types.js";
import { appendSummary, setOutput } from "./actions.js";
import { addCommonOptions, type CommonOptions, type Context, createContext } from "./common.js";
import { registerWatch } from "./watch.js";

type Files = { done: number; total: number };

/** The CLI's commands: each parses its options, calls the library, and prints the result. */
export function registerCommands(program: Command, setExitCode: (code: number) => void): void {
  command(program, "init", "start a run: prints one line per agent, domain<TAB>agent-id")
    .requiredOption("--epic <id>", "epic id, e.g. EPIC-007")
    .requiredOption("--domains <a,b,c>", "comma-separated domains, one agent each", parseDomainsOption)
    .option("--json", "print the run as JSON instead")
    .option("--force", "abandon a run that is still active here and start a new one")
    .option(
      "--stall-after <duration>",
      "show agents silent this long as stalled (default 15m)",
      parseStallAfterOption,
    )
    .action(
      async (
        options: CommonOptions & {
          epic: string;
          domains: string[];
          json?: boolean;
          force?: boolean;
          stallAfter?: number;
        },
      ) => {
        const context = createContext(options);
        const agents = await context.reporter.initializeParallelTracking(
          options.epic,
          options.domains,
          undefined,
          {
            force: options.force ?? false,
            ...(options.stallAfter === undefined ? {} : { stallAfterMs: options.stallAfter }),
          },
        );
        if (options.json) context.out.data(JSON.stringify(await context.reporter.status(), null, 2));
        else context.out.data(agents.map(({ domain, agentId }) => `${domain}\t${agentId}`).join("\n"));
        await publishCommentUrl(context);
      },
    );

  command(program, "update <agent>", "report an agent's status and file counts")
    .requiredOption("--status <status>", "pending, in_progress, completed or failed", parseStatusOption)
    .option("--files <done/total>", "files done and total, e.g. 3/7 (default: unchanged)", parseFilesOption)
    .action(async (agent: string, options: CommonOptions & { status: AgentStatus; files?: Files }) => {
      const context = createContext(options);
      let files = options.files;
      if (!files) {
        const state = await context.reporter.load();
        const current = state ? findAgent(state, agent) : null;
        files = { done: current?.filesCompleted ?? 0, total: current?.filesTotal ?? 0 };
      }
      await context.reporter.updateAgentProgress(agent, options.status, files.done, files.total);
      await publishCommentUrl(context);
    });

  command(program, "complete <agent>", "mark an agent completed")
    .option("--summary <text>", "the agent's result summary")
    .action(async (agent: string, options: CommonOptions & { summary?: string }) => {
      const context = createContext(options);
      await context.reporter.markAgentComplete(agent, options.summary ?? null);
      await publishCommentUrl(context);
    });

  command(program, "fail <agent>", "mark an agent failed, with the reason shown on the issue")
    .requiredOption("--error <text>", "why it failed")
    .action(async (agent: string, options: CommonOptions & { error: string }) => {
      const context = createContext(options);
      await context.reporter.markAgentFailed(agent, options.error);
      await publishCommentUrl(context);
    });

  command(program, "cancel <agent>", "mark an agent cancelled (it will do no more work)")
    .option("--reason <text>", "why, shown on the issue")
    .action(async (agent: string, options: CommonOptions & { reason?: string }) => {
      const context = createContext(options);
      await context.reporter.cancelAgent(agent, options.reason ?? null);
      await publishCommentUrl(context);
    });

  command(
    program,
    "log <agent> <message>",
    "record an event in the agent's log (the comment shows the latest)",
  ).action(async (agent: string, message: string, options: CommonOptions) => {
    const context = createContext(options);
    await context.reporter.logAgentEvent(agent, message);
    await publishCommentUrl(context);
  });

  command(program, "finalize", "retry the queue, then post the final summary (idempotent)")
    .option("--summary <text>", "the merge summary")
    .option("--summary-file <path>", "read the merge summary from a file")
    .action(async (options: CommonOptions & { summary?: string; summaryFile?: string }) => {
      if (options.summary !== undefined && options.summaryFile !== undefined) {
        throw new UsageError("give --summary or --summary-file, not both");
      }
      const summary =
        options.summaryFile !== undefined
          ? await readSummaryFile(options.summaryFile)
          : (options.summary ?? "");
      const context = createContext(options);
      const { out, reporter, actions } = context;
      const result = await reporter.finalizeParallelExecution(summary);
      if (!result.finalizedNow) out.info("the run was already finalized: nothing new posted");
      if (result.posted)
        out.info(`final summary on the issue${result.commentUrl ? `: ${result.commentUrl}` : ""}`);
      if (result.queued > 0)
        out.warn(`${result.queued} post(s) remain queued: run \`parallel-progress retry\` later`);
      if (actions && result.finalizedNow) {
        const { renderFinalComment } = await import("../render/progress-comment.js");
        await appendSummary(actions, renderFinalComment(reporter.executionState, { now: Date.now() }));
      }
      await publishCommentUrl(context);
    });

  command(program, "retry", "retry the offline queue; exits 3 while posts remain queued")
    .option("--dry-run", "list what would be sent, send nothing")
    .action(async (options: CommonOptions & { dryRun?: boolean }) => {
      const context = createContext(options);
      const { out, reporter } = context;
      const report = await reporter.retryReport({ dryRun: options.dryRun ?? false });
      if (options.dryRun) {
        for (const { name, action, item } of report.plan) {
          out.data(
            [name, action, item.kind, `${item.repo}#${item.issue_number}`, item.run_id, item.seq].join("\t"),
          );
        }
      } else {
        out.info(`${report.sent} queued post(s) delivered, ${report.remaining} remaining`);
        for (const message of report.errors) out.warn(`GitHub: ${message}`);
        await publishCommentUrl(context);
      }
      if (report.remaining > 0) setExitCode(3);
    });

  command(program, "status", "show the run: a coloured table, --json, or --markdown (the comment body)")
    .option("--json", "print the run as JSON")
    .option("--markdown", "print the progress comment body")
    .action(async (options: CommonOptions & { json?: boolean; markdown?: boolean }) => {
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
        const now = Date.now();
        out.data(
          state.completedAt ? renderFinalComment(state, { now }) : renderProgressComment(state, { now }),
        );
        return;
      }
      const [{ default: chalk }, { renderTerminalTable }] = await Promise.all([
        import("chalk"),
        import("../render/terminal.js"),
      ]);
      const color = chalk.level > 0 ? chalk : null;
      out.data(renderTerminalTable(state, { color, width: process.stdout.columns ?? 100, now: Date.now() }));
    });

  registerWatch(program);

  addCommonOptions(program.command("__flush", { hidden: true })).action(async (options: CommonOptions) => {
    const { reporter } = createContext({ ...options, quiet: true });
    await reporter.runFlusher();
  });
}

function command(program: Command, nameAndArgs: string, description: string): Command {
  return addCommonOptions(program.command(nameAndArgs).description(description));
}

/** In GitHub Actions, a command that knows the progress comment's URL sets it as the step output `comment-url`. */
async function publishCommentUrl({ actions, reporter }: Context): Promise<void> {
  if (!actions) return;
  const url = (await reporter.load())?.sync.commentUrl;
  if (url) await setOutput(actions, "comment-url", url);
}

async function readSummaryFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--summary-file: cannot read "${path}": ${code}`, { cause: error });
  }
}
