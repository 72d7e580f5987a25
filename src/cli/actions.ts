import { appendFileSync, closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
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
  return { outputFile: givenPath(env.GITHUB_OUTPUT), summaryFile: givenPath(env.GITHUB_STEP_SUMMARY) };
}

/**
 * A path the runner gave, or null: empty or only white space is unset (the runner never sets such a
 * value; written to, `GITHUB_OUTPUT='   '` made a file named by three spaces in the working directory).
 */
function givenPath(value: string | undefined): string | null {
  return value === undefined || value.trim() === "" ? null : value;
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
      appendFileSync(fd, endsMidLine(fd, path) ? `\n${text}` : text, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    warn(`${variable} ${quote(path)} cannot be written (${code ?? message}): ${consequence}`);
  }
}

/**
 * Whether the file open as `fd` ends inside a line (an earlier step's `printf 'foo=bar' >> "$GITHUB_OUTPUT"`):
 * what is appended then starts on a new line, or it would join that one (`foo=barcomment-url=…`, both
 * outputs lost). One stat and a read of the last byte; a pipe or a device has no last byte to read. A last
 * byte that cannot be read (a file we may write but not read) is taken as a line's end, as it was before.
 */
function endsMidLine(fd: number, path: string): boolean {
  const stats = fstatSync(fd);
  if (!stats.isFile() || stats.size === 0) return false;
  let reader: number | null = null;
  try {
    reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const last = Buffer.alloc(1);
    return readSync(reader, last, 0, 1, stats.size - 1) === 1 && last[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    if (reader !== null) closeSync(reader);
  }
}
