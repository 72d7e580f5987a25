import { appendFileSync, closeSync, constants, openSync } from "node:fs";
import { quote } from "../config/show-value.js";

/**
 * GitHub Actions integration, active when GITHUB_ACTIONS=true: warnings become `::warning::`
 * annotations, the progress comment's URL is written to $GITHUB_OUTPUT as `comment-url`, and
 * finalize appends the final table to $GITHUB_STEP_SUMMARY. Read from the environment at the edge.
 */
export interface ActionsContext {
  outputFile: string | null;
  summaryFile: string | null;
}

export function actionsContext(env: NodeJS.ProcessEnv): ActionsContext | null {
  if (env.GITHUB_ACTIONS !== "true") return null;
  return { outputFile: env.GITHUB_OUTPUT || null, summaryFile: env.GITHUB_STEP_SUMMARY || null };
}

/** A workflow command line, with its data escaped as the runner expects (%, CR, LF). */
export function annotation(kind: "warning" | "error" | "notice", message: string): string {
  const data = message.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
  return `::${kind} title=parallel-progress::${data}`;
}

/**
 * Sets a step output (`name=value`; multi-line values use the heredoc form). Synchronous, like the rest of
 * the per-event path: loading node:fs/promises costs every CLI start a millisecond and more. A file that
 * cannot be written is a warning (`warn`): the command's work is done, and a step must not fail for it.
 */
export function setOutput(
  context: ActionsContext,
  name: string,
  value: string,
  warn: (message: string) => void,
): void {
  if (!context.outputFile) return;
  const line = value.includes("\n")
    ? `${name}<<PARALLEL_PROGRESS_EOF\n${value}\nPARALLEL_PROGRESS_EOF\n`
    : `${name}=${value}\n`;
  append("GITHUB_OUTPUT", context.outputFile, line, `${name} not set`, warn);
}

/** Appends markdown to the job summary, without our hidden marker (a file that cannot be written: as setOutput). */
export function appendSummary(
  context: ActionsContext,
  markdown: string,
  warn: (message: string) => void,
): void {
  if (!context.summaryFile) return;
  const visible = markdown.replace(/\n*<!-- parallel-progress:[^>]*-->\s*$/, "");
  append("GITHUB_STEP_SUMMARY", context.summaryFile, `${visible}\n\n`, "no job summary", warn);
}

function append(
  variable: string,
  path: string,
  text: string,
  consequence: string,
  warn: (message: string) => void,
): void {
  try {
    // Not blocking: a named pipe with no reader is refused at once (ENXIO), where the write had waited
    // for one for ever, and the command with it.
    const fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK,
    );
    try {
      appendFileSync(fd, text, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    warn(`${variable} ${quote(path)} cannot be written (${code ?? message}): ${consequence}`);
  }
}
