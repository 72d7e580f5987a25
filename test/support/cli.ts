import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const BIN = resolve("bin/parallel-progress.cjs");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * How a test runs the CLI. `umask`: through a shell that sets it first (`umask 000`), as a user's shell
 * would: the process and the background writers it starts make their files and folders under it.
 */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  umask?: string;
}

/** Runs the built CLI as workflow scripts do: a separate process, a clean environment. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const { code, stdout, stderr, ms } = await spawnCli(args, options).done;
  return { code, stdout, stderr, ms };
}

/** A temporary epic directory with an optional task.md; removed by `cleanup`. */
export async function makeEpic(task?: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "pp-epic-"));
  if (task !== undefined) await writeFile(join(dir, "task.md"), task);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function taskMd(issue: number, extra = ""): string {
  return `---\ngithub:\n  issue_number: ${issue}\n  repo: acme/widgets\n${extra}---\n# Epic\n`;
}

export async function queueFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(join(dir, ".github_parallel_queue")))
      .filter((n) => n.startsWith("comment_"))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The changes kept on the machine's disk while the database was down (`.json`), or those set aside
 * (`.json.rejected`), by name, oldest first; never the waiter's lock file beside them while it runs.
 */
export async function keptChangeFiles(dir: string, which: "kept" | "set aside" = "kept"): Promise<string[]> {
  const suffix = which === "kept" ? ".json" : ".json.rejected";
  const names = await readdir(join(dir, ".parallel-progress", "pending")).catch(() => [] as string[]);
  return names.filter((name) => name.endsWith(suffix)).sort();
}

/** Every file under the epic directory, as text, to look for leaked secrets. */
export async function allFileText(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else parts.push(await readFile(path, "utf8").catch(() => ""));
    }
  };
  await walk(dir);
  return parts.join("\n");
}

/** Polls `check` until it returns true or `timeoutMs` passes (bounded). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}

/** Repeats `attempt` until `done` accepts its result (bounded by `waitFor`), returning the last result. */
export async function repeatUntil<T>(
  attempt: () => Promise<T>,
  done: (result: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  let last = await attempt();
  await waitFor(
    async () => {
      if (done(last)) return true;
      last = await attempt();
      return done(last);
    },
    timeoutMs,
    200,
  );
  return last;
}

/** A CLI process started like `runCli`, returned while running so a test can kill it. */
export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited (killed or not); `code` is null when killed by a signal. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** Starts the built CLI as `runCli` does (see CliOptions). */
export function spawnCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const started = Date.now();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    NO_COLOR: "1",
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value !== undefined) env[key] = value;
  }
  const [command, argv] =
    options.umask === undefined
      ? [process.execPath, [BIN, ...args]]
      : ["/bin/sh", ["-c", `umask ${options.umask} && exec "$@"`, "sh", process.execPath, BIN, ...args]];
  const child = spawn(command, argv, { cwd: options.cwd ?? process.cwd(), env });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolvePromise, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, done };
}

/**
 * Ids of the detached background writers (`__flush`) working on this epic directory (Linux /proc; an
 * empty list elsewhere). Matched by the exact `--dir` argument, so only this test's processes count.
 */
export async function flusherPids(dir: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(join("/proc", entry, "cmdline"), "utf8").catch(() => "")).split("\0");
    const at = argv.indexOf("--dir");
    if (argv.includes("__flush") && at >= 0 && argv[at + 1] === dir) pids.push(Number(entry));
  }
  return pids;
}

/** The command lines (NUL-separated argv joined by spaces) of this epic's background writers. */
export async function flusherCommandLines(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const pid of await flusherPids(dir)) {
    const raw = await readFile(join("/proc", String(pid), "cmdline"), "utf8").catch(() => "");
    lines.push(raw.split("\0").join(" "));
  }
  return lines;
}

/**
 * Pauses this epic's background writers (SIGSTOP) until the returned function resumes them (SIGCONT): a
 * writer that stays alive but cannot race the command a test is about (as on a machine too busy to run it).
 */
export async function pauseFlushers(dir: string): Promise<() => void> {
  const pids = await flusherPids(dir);
  const signal = (name: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // already gone
      }
    }
  };
  signal("SIGSTOP");
  return () => signal("SIGCONT");
}

/** Ends this epic's background writers (by id, SIGKILL): for test cleanup, before the directory goes. */
export async function stopFlushers(dir: string): Promise<void> {
  for (const pid of await flusherPids(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
