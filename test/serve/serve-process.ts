import { type RunningCli, spawnCli } from "../support/cli.js";

/** A `serve` process started by a test: its printed URL, and how to stop it (SIGTERM) and see its exit. */
export interface ServeProcess extends RunningCli {
  url: string;
  /** Sends SIGTERM and resolves with the exit code (killed for good after 10 s). */
  stop(): Promise<number | null>;
}

/** Starts the built CLI's `serve` and resolves once it printed `listening <url>` (bounded: 15 s). */
export async function startServe(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<ServeProcess> {
  const running = spawnCli(["serve", ...args], { timeoutMs: 120_000, env });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`serve printed no URL within 15 s: ${stdout}`)), 15_000);
    running.child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n")[0];
      if (stdout.includes("\n") && line !== undefined) {
        clearTimeout(timer);
        if (line.startsWith("listening ")) resolve(line.slice("listening ".length));
        else reject(new Error(`first line is not "listening <url>": ${line}`));
      }
    });
    void running.done.then((result) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${result.code}) before listening: ${result.stderr}`));
    });
  });
  return {
    ...running,
    url,
    stop: async () => {
      running.child.kill("SIGTERM");
      const timer = setTimeout(() => running.child.kill("SIGKILL"), 10_000);
      const result = await running.done;
      clearTimeout(timer);
      return result.code;
    },
  };
}
