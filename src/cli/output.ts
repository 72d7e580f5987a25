/**
 * Where the CLI writes: data to stdout, diagnostics to stderr, with --quiet and --verbose applied.
 * (Errors are written by the one place that maps them to exit codes: exit.ts.)
 */
export interface Output {
  data(text: string): void;
  warn(message: string): void;
  info(message: string): void;
}

export function createOutput(options: {
  quiet: boolean;
  verbose: boolean;
  /** Format warnings as GitHub Actions annotations. */
  annotate?: (message: string) => string;
}): Output {
  const warned = new Set<string>(); // the same warning once per call
  return {
    data: (text) => {
      process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    },
    warn: (message) => {
      if (options.quiet || warned.has(message)) return;
      warned.add(message);
      const line = options.annotate ? options.annotate(message) : `parallel-progress: warning: ${message}`;
      process.stderr.write(`${line}\n`);
    },
    info: (message) => {
      if (options.verbose) process.stderr.write(`parallel-progress: ${message}\n`);
    },
  };
}
