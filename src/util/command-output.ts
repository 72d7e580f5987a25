/** How long a command may take: then it is killed (SIGKILL: one that ignores SIGTERM too) and given up on. */
const TIMEOUT_MS = 3000;

/**
 * What `command args` prints on stdout, or null when the command is missing, fails, or takes more than 3 s.
 * Never throws, and settles within about 3 s whatever the command does (a child of its that keeps the
 * output open, which execFile would wait for, included). It runs in `env` (its PATH finds the command),
 * else in this process's environment.
 */
export async function commandOutput(
  command: string,
  args: readonly string[],
  env?: Readonly<Record<string, string | undefined>>,
): Promise<string | null> {
  const { execFile } = await import("node:child_process");
  const options = {
    timeout: TIMEOUT_MS,
    killSignal: "SIGKILL",
    windowsHide: true,
    encoding: "utf8",
    env,
  } as const;
  return new Promise((resolve) => {
    const child = execFile(command, args, options, (error, stdout) => {
      clearTimeout(giveUp);
      resolve(error ? null : stdout);
    });
    const giveUp = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      resolve(null);
    }, TIMEOUT_MS + 100);
  });
}
