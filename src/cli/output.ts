import { messageLine } from "../config/show-value.js";
import { annotation } from "./actions.js";
import { writeData } from "./standard-streams.js";

/**
 * Where the CLI writes: data to stdout, diagnostics to stderr, with --quiet and --verbose applied. Every
 * command's warnings are GitHub Actions annotations inside a workflow (GITHUB_ACTIONS=true), one way for
 * all. (Errors are written by the one place that maps them to exit codes: exit.ts.)
 */
export interface Output {
  /** A line of data (standard-streams.ts); `done`: what the command did that it shows, said if it is lost. */
  data(text: string, done?: string): void;
  warn(message: string): void;
  info(message: string): void;
}

/**
 * `once` (default): the same warning is said once per call. A command that runs until stopped (`watch`,
 * `serve`) says each again when it happens again (a run unreadable, readable, then unreadable once more):
 * it says each once while it lasts itself.
 */
export function createOutput(
  options: { quiet: boolean; verbose: boolean; once?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Output {
  const annotate = env.GITHUB_ACTIONS === "true";
  const warned = new Set<string>();
  return {
    data: writeData,
    warn: (text) => {
      if (options.quiet) return; // before messageLine: masking and escaping cost a call that says nothing
      const message = messageLine(text);
      if (warned.has(message)) return;
      if (options.once !== false) warned.add(message);
      const line = annotate ? annotation("warning", message) : `parallel-progress: warning: ${message}`;
      process.stderr.write(`${line}\n`);
    },
    info: (message) => {
      if (options.verbose) process.stderr.write(`parallel-progress: ${messageLine(message)}\n`);
    },
  };
}
