import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BIN, queueFiles, runCli } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const TOKEN = "ghp_testtoken0123456789abcdefghijklmnopqrstu";
const setup = useFakeGitHub(TOKEN);

/**
 * Runs the built CLI with stdout and/or stderr on /dev/full (every write fails with ENOSPC), the other
 * read through a pipe as runCli reads it.
 */
async function runOnFull(
  args: readonly string[],
  full: { stdout?: boolean; stderr?: boolean },
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fd = openSync("/dev/full", "w");
  try {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: process.env.HOME ?? "/tmp",
        NO_COLOR: "1",
        ...env,
      },
      stdio: ["ignore", full.stdout ? fd : "pipe", full.stderr ? fd : "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    return { code, stdout, stderr };
  } finally {
    closeSync(fd);
  }
}

describe("stderr that cannot be written (/dev/full)", () => {
  it("leaves the documented exit codes: 2 for the caller's mistakes", async () => {
    const { dir, env } = await setup({ fake: {} });
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env })).code).toBe(0);
    for (const args of [
      ["update", "a", "--status", "bogus", "--dir", dir],
      ["frobnicate"],
      ["status", "--dir", "/nonexistent/x"],
    ]) {
      const result = await runOnFull(args, { stderr: true }, env);
      expect(result.code, args.join(" ")).toBe(2);
    }
  });

  it("a change kept with a warning due (GitHub down) exits 0, not as a failure", async () => {
    /** An update while GitHub is down, in a run of its own, stderr on /dev/full or read. */
    const updateWhileDown = async (full: boolean) => {
      const { gh, dir, env } = await setup();
      // --min-interval 0: the change writes to GitHub at once, so it is warned about while GitHub is down.
      const args = ["init", "--epic", "E", "--domains", "a", "--min-interval", "0", "--dir", dir];
      expect((await runCli(args, { env })).code).toBe(0);
      gh.setFaults({ down: true });
      const update = ["update", "a", "--status", "in_progress", "--files", "1/4", "--dir", dir];
      const result = full ? await runOnFull(update, { stderr: true }, env) : await runCli(update, { env });
      const status = await runCli(["status", "--json", "--dir", dir], { env });
      return { ...result, queued: (await queueFiles(dir)).length, status: status.stdout };
    };
    const seen = await updateWhileDown(false);
    expect(seen.stderr).toMatch(/warning: GitHub: .*queued as comment_/); // a warning is due
    const lost = await updateWhileDown(true);
    expect(lost.code).toBe(0);
    expect(lost.queued).toBeGreaterThan(0);
    expect(lost.status).toContain('"filesCompleted": 1');
  });
});

describe("stdout that cannot be written (/dev/full)", () => {
  it("init and add: one line saying so and what was done, exit 1, no crash", async () => {
    const { dir, env } = await setup({ task: "---\ngithub:\n  sync_enabled: false\n---\n" });
    const init = await runOnFull(
      ["init", "--epic", "E", "--domains", "a,b", "--dir", dir],
      { stdout: true },
      env,
    );
    expect(init.code).toBe(1);
    expect(init.stderr).toBe(
      "parallel-progress: error: could not write the output: ENOSPC: no space left on device, write; the run was started (its agent ids are in `parallel-progress status`)\n",
    );
    const add = await runOnFull(["add", "--domains", "c", "--dir", dir], { stdout: true }, env);
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/could not write the output: ENOSPC.*; the agents were added \(/);
    const status = await runCli(["status", "--json", "--dir", dir], { env });
    expect(status.stdout.match(/"agentId"/g)).toHaveLength(3);
  });

  it("status and --help: one line naming the error, exit 1", async () => {
    const { dir, env } = await setup({ task: "---\ngithub:\n  sync_enabled: false\n---\n" });
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env })).code).toBe(0);
    for (const args of [["status", "--dir", dir], ["--help"]]) {
      const result = await runOnFull(args, { stdout: true }, env);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr).toBe(
        "parallel-progress: error: could not write the output: ENOSPC: no space left on device, write\n",
      );
    }
  });
});
