import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll } from "vitest";
import { BIN, type CliResult } from "./cli.js";

const run = promisify(execFile);

/**
 * A simulated machine: an epic directory and a temp folder of its own, and its own process-id and host-name
 * namespaces (`unshare --pid --fork --mount-proc --uts`), so a process id means nothing to another machine.
 * The namespace lives as long as the machine (its init is a `sleep`), so background writers that CLI calls
 * start there outlive the call, as on a real host; `kill()` ends everything on it at once (a dead machine).
 */
export interface Machine {
  name: string;
  dir: string;
  /** Runs the CLI on this machine (inside its namespaces), with `env` plus TMPDIR. */
  cli(args: readonly string[], env: Record<string, string>, timeoutMs?: number): Promise<CliResult>;
  /** Starts the CLI on this machine without waiting for it. */
  start(args: readonly string[], env: Record<string, string>): Promise<CliResult>;
  /** The processes running on this machine now (its init aside), with their command lines. */
  processes(): Promise<MachineProcess[]>;
  /** SIGKILL to the machine's init: every process on it dies. */
  kill(): Promise<void>;
  /** Kills what is left and removes its folders. */
  destroy(): Promise<void>;
}

/** A process on a machine: its host's id (for a signal from the test) and its argv. */
export interface MachineProcess {
  pid: number;
  argv: string[];
}

/** Why machines cannot be simulated here (unshare refused: not root, or no user namespaces), or null. */
export async function machinesUnavailable(): Promise<string | null> {
  try {
    await run("unshare", ["--pid", "--fork", "--mount-proc", "--uts", "true"]);
    await run("nsenter", ["--version"]);
    return null;
  } catch (error) {
    return `unshare --pid --fork --mount-proc --uts (or nsenter) is refused here (${(error as Error).message.split("\n")[0]})`;
  }
}

/** The host's id of the namespace's init (the forked child of `unshare`), found through /proc. */
async function childOf(pid: number): Promise<number | null> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  const first = text.trim().split(/\s+/)[0];
  return first ? Number(first) : null;
}

/** The processes in the pid namespace of `init` (init itself aside), found through /proc. */
async function processesBeside(init: number): Promise<MachineProcess[]> {
  const namespace = await readlink(`/proc/${init}/ns/pid`).catch(() => null);
  if (namespace === null) return [];
  const found: MachineProcess[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === init) continue;
    if ((await readlink(`/proc/${entry}/ns/pid`).catch(() => null)) !== namespace) continue;
    const raw = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    // A zombie (ended, not yet reaped by the namespace's init) has no command line: it runs nothing.
    if (raw !== "") found.push({ pid: Number(entry), argv: raw.replace(/\0$/, "").split("\0") });
  }
  return found;
}

export async function startMachine(name: string): Promise<Machine> {
  const root = await mkdtemp(join(tmpdir(), `pp-${name}-`));
  const dir = join(root, "epic");
  const tmp = join(root, "tmp");
  await run("mkdir", ["-p", dir, tmp]);
  const holder: ChildProcess = spawn(
    "unshare",
    ["--pid", "--fork", "--mount-proc", "--uts", "sh", "-c", 'hostname "$0" && exec sleep 100000', name],
    { stdio: "ignore" },
  );
  let init: number | null = null;
  for (let i = 0; i < 200 && init === null; i++) {
    init = await childOf(holder.pid!);
    if (init === null) await new Promise((r) => setTimeout(r, 10));
  }
  if (init === null) throw new Error(`machine ${name}: its namespace did not start`);
  // `sh` execs `sleep` after setting the host name: wait until it did, so calls see the new name.
  for (let i = 0; i < 200; i++) {
    const cmd = await readFile(`/proc/${init}/cmdline`, "utf8").catch(() => "");
    if (cmd.startsWith("sleep")) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const target = String(init);
  const launch = (args: readonly string[], env: Record<string, string>, timeoutMs = 60_000) =>
    new Promise<CliResult>((resolve, reject) => {
      const started = Date.now();
      const child = spawn(
        "nsenter",
        // --wd: entering the mount namespace would otherwise leave the call in `/` (every machine's --dir).
        ["-t", target, "--pid", "--mount", "--uts", `--wd=${dir}`, "--", process.execPath, BIN, ...args],
        {
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp, NO_COLOR: "1", TMPDIR: tmp, ...env },
          cwd: dir,
        },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      });
    });
  const kill = async () => {
    try {
      process.kill(init!, "SIGKILL");
    } catch {
      // already gone
    }
    await new Promise<void>((resolve) => {
      if (holder.exitCode !== null || holder.signalCode !== null) resolve();
      else holder.once("exit", () => resolve());
    });
  };
  return {
    name,
    dir,
    cli: (args, env, timeoutMs) => launch(args, env, timeoutMs),
    start: (args, env) => launch(args, env),
    processes: () => processesBeside(init!),
    kill,
    async destroy() {
      await kill();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Simulated machines for a test file (or a describe block): `machine(name)` starts one; all are destroyed
 * after the file's (block's) tests. Call at the top of the file or inside the describe.
 */
export function useMachines(): (name: string) => Promise<Machine> {
  const machines: Machine[] = [];
  afterAll(async () => {
    for (const m of machines.splice(0)) await m.destroy();
  });
  return async (name) => {
    const made = await startMachine(name);
    machines.push(made);
    return made;
  };
}
