import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { startFakeGitHub } from "../../test/support/fake-github/index.js";
import type { FakeGitHubOptions } from "../../test/support/fake-github/types.js";
import type { ControlAnswer, ControlCall } from "./fake-process-protocol.js";

/**
 * Where the start-up measurement runs. On a small shared machine a timed process that shares its CPU
 * with the fake GitHub serving it (and with whatever else the scheduler moves there) picks up
 * milliseconds of noise: the same command's median moved by ±0.05x between runs. So, where it can
 * (Linux, two CPUs or more, `taskset`), the benchmark puts the fake GitHub in a process of its own on
 * one CPU and itself, with every process it times (they inherit it), on another, for the start-up
 * section only. Baselines and CLI are placed alike; nothing else changes.
 */
export interface Placement {
  serverCpu: number;
  measuredCpu: number;
  /** This process's CPU list before, to restore. */
  before: string;
}

export function choosePlacement(): Placement | null {
  if (process.platform !== "linux" || availableParallelism() < 2) return null;
  const current = spawnSync("taskset", ["-pc", String(process.pid)], { encoding: "utf8" });
  if (current.status !== 0) return null;
  const before = /:\s*([\d,-]+)\s*$/.exec(current.stdout.trim())?.[1];
  const cpus = before ? expandCpuList(before) : [];
  if (!before || cpus.length < 2) return null;
  return { serverCpu: cpus[0]!, measuredCpu: cpus[1]!, before };
}

/** Sets the CPUs of every thread of this process (and so of the processes it starts from now on). */
export function pinSelf(cpus: string): boolean {
  return spawnSync("taskset", ["-a", "-pc", cpus, String(process.pid)], { stdio: "ignore" }).status === 0;
}

/** `0-2,5` → [0, 1, 2, 5] */
export function expandCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) continue;
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    for (let cpu = from; cpu <= to && cpu - from < 1024; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** What the start-up measurement asks of the fake GitHub, wherever it runs. */
export interface FakeHandle {
  url: string;
  /** Where it runs: "CPU n (own process)" or "this process". */
  where: string;
  addComment(repo: string, issue: number, body: string, author: string): Promise<number>;
  bodyLengths(repo: string, issue: number): Promise<number[]>;
  /** Requests and accepted writes so far. */
  counts(): Promise<[number, number]>;
  close(): Promise<void>;
}

type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

const SERVER_SCRIPT = fileURLToPath(new URL("./fake-server-process.ts", import.meta.url));

/** The fake in a process of its own pinned to `cpu` (null: in this process). */
export async function startFake(options: FakeGitHubOptions, cpu: number | null): Promise<FakeHandle> {
  if (cpu === null) return inProcess(options);
  const child = spawn(
    "taskset",
    ["-c", String(cpu), process.execPath, "--import", "tsx", SERVER_SCRIPT, JSON.stringify(options)],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  /** Answers awaited, by call id: settled with the answer, or with an error if the process ends first. */
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let ended: Error | null = null;
  const gone = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      ended = new Error(`the fake GitHub process ended (${signal ?? `exit ${code}`})`);
      for (const waiter of pending.values()) waiter.reject(ended);
      pending.clear();
      resolve();
    });
  });
  child.on("message", (message: ControlAnswer | { ready: string }) => {
    if ("id" in message) pending.get(message.id)?.resolve(message.value);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the fake GitHub process did not start in 20 s"));
    }, 20_000);
    child.once("error", reject);
    void gone.then(() => reject(ended));
    child.on("message", (message: ControlAnswer | { ready: string }) => {
      if ("ready" in message) {
        clearTimeout(timer);
        resolve(message.ready);
      }
    });
  });
  const call = <T>(op: WithoutId<ControlCall>): Promise<T> =>
    new Promise((resolve, reject) => {
      if (ended) {
        reject(ended);
        return;
      }
      const id = nextId++;
      pending.set(id, {
        resolve: (value) => {
          pending.delete(id);
          resolve(value as T);
        },
        reject,
      });
      child.send({ ...op, id });
    });
  return {
    url,
    where: `CPU ${cpu} (own process)`,
    addComment: (repo, issue, body, author) => call({ op: "addComment", repo, issue, body, author }),
    bodyLengths: (repo, issue) => call({ op: "bodyLengths", repo, issue }),
    counts: () => call({ op: "counts" }),
    close: async () => {
      if (!ended) await call({ op: "close" }).catch(() => undefined);
      await gone;
    },
  };
}

async function inProcess(options: FakeGitHubOptions): Promise<FakeHandle> {
  const github = await startFakeGitHub(options);
  return {
    url: github.url,
    where: "this process",
    addComment: async (repo, issue, body, author) => github.addComment(repo, issue, body, author).id,
    bodyLengths: async (repo, issue) => github.comments(repo, issue).map((c) => c.body.length),
    counts: async () => [github.requests.length, github.writes.length],
    close: () => github.close(),
  };
}
