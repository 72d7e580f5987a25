/** Where the CLI writes: data to stdout, diagnostics to stderr, with --quiet and --verbose applied. */
export interface Output {
  data(text: string): void;
  warn(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

export function createOutput(options: { quiet: boolean; verbose: boolean }): Output {
  return {
    data: (text) => {
      process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    },
    warn: (message) => {
      if (!options.quiet) process.stderr.write(`parallel-progress: warning: ${message}\n`);
    },
    info: (message) => {
      if (options.verbose) process.stderr.write(`parallel-progress: ${message}\n`);
    },
    error: (message) => {
      process.stderr.write(`parallel-progress: error: ${message}\n`);
    },
  };
}
