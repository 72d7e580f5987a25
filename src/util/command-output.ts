/**
 * What `command args` prints on stdout, or null when the command is missing, fails, or takes more than 3 s.
 * Never throws. It runs in `env` (its PATH finds the command), else in this process's environment.
 */
export async function commandOutput(
  command: string,
  args: readonly string[],
  env?: Readonly<Record<string, string | undefined>>,
): Promise<string | null> {
  const { execFile } = await import("node:child_process");
  const { promisify } = await import("node:util");
  const options = { timeout: 3000, windowsHide: true, encoding: "utf8", env } as const;
  return promisify(execFile)(command, args, options).then(
    ({ stdout }) => stdout,
    () => null,
  );
}
