import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { flusherPids } from "../../test/support/cli.js";

/** Paths the benchmark runs, absolute so a child's working directory does not matter. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "parallel-progress.cjs");
/** The start-up baselines: an empty ES module, and a bare ES module making one request with fetch. */
export const EMPTY = join(ROOT, "bench", "fixtures", "empty.mjs");
export const ONE_REQUEST = join(ROOT, "bench", "fixtures", "one-request.mjs");
export const PG_BARE = join(ROOT, "bench", "fixtures", "pg-bare.cjs");

/** The token the fake servers accept (never printed). */
export const TOKEN = "ghp_benchtoken0123456789abcdefghijklmnopq";

export interface Timed {
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  code: number | null;
  stderr: string;
}

/** A clean environment, as a workflow step has: no GITHUB_* unless given. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
    ...extra,
  };
}

/**
 * Runs `node <args>` and times it from spawn to exit. Every variant goes through this one function with
 * the same stdio, so spawn and pipe costs are alike on both sides of a ratio. Killed after `timeoutMs`.
 */
export function timeNode(
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number; nodeArgs?: readonly string[] },
): Promise<Timed> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // The time is taken at exit; the result is handed over once stderr is fully read ("close").
    let ms = 0;
    child.on("exit", () => {
      ms = performance.now() - started;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ ms: ms || performance.now() - started, code, stderr });
    });
  });
}

/**
 * CPU time (user + system, ms) of this process's finished children, from /proc (Linux; NaN elsewhere):
 * read around one child at a time, it tells that child's CPU time, which a loaded machine barely moves.
 */
export function childrenCpuMs(): number {
  try {
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
    // Fields 16 and 17 of stat(5), cutime and cstime, in clock ticks (100 a second on Linux).
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Runs `node <args>` to its end and collects its output; killed after `timeoutMs`. */
export function runNode(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI and returns its stdout (for `status --json` / `--markdown`), throwing on a non-zero exit. */
export async function cliOutput(
  args: readonly string[],
  env: Record<string, string>,
  bin = BIN,
): Promise<string> {
  const { code, stdout, stderr } = await runNode([bin, ...args], env);
  if (code !== 0) throw new Error(`parallel-progress ${args[0]} exited ${code}: ${shortError(stderr)}`);
  return stdout;
}

/** The first lines of a child's stderr, each cut short (a minified bundle prints very long lines). */
export function shortError(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^\^+$/.test(line));
  const error = lines.find((line) => /error/i.test(line)) ?? lines[0] ?? "(no stderr)";
  return error.length > 200 ? `${error.slice(0, 200)}…` : error;
}

/**
 * Waits (bounded) for this epic's background writers to exit on their own; kills any still running after
 * `timeoutMs` (by id: they were started by this benchmark's CLI calls on its own temp directory).
 * Returns how many had to be killed.
 */
export async function drainFlushers(dir: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await flusherPids(dir)).length === 0) return 0;
    await sleep(50);
  }
  const left = await flusherPids(dir);
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return left.length;
}

export const sleep = (ms: number) => new Promise<void>((resolvePromise) => setTimeout(resolvePromise, ms));
