// `npm run bench:instructions`: the start-up variants counted in CPU instructions instead of timed.
//
// Wall time on a shared machine moves by milliseconds from one minute to the next; an instruction count
// does not: valgrind's callgrind counts every instruction the process executes, and with address-space
// randomisation off (`setarch -R`) and V8's random seed fixed (`--random-seed=1`, which V8 accepts
// without refusing Node's embedded code cache) the same call gives the same count run after run. It
// leaves out what the kernel does (system calls, page faults), so it complements the timed benchmark,
// never replaces it. Needs valgrind and setarch (Debian: valgrind, util-linux); says so and exits 0
// without them. Each variant runs once uncounted first, so the CLI's compile cache is in place.
import { spawn, spawnSync } from "node:child_process";
import { Epics } from "./lib/epic.js";
import { startFake } from "./lib/placement.js";
import { BIN, drainFlushers, EMPTY, ONE_REQUEST, ROOT } from "./lib/proc.js";
import { textTable } from "./lib/report.js";
import { STARTUP_FAKE, startupFixture } from "./lib/startup-fixture.js";
import { ratio } from "./lib/stats.js";

const NODE_FLAGS = ["--random-seed=1"];

function missingTools(): string[] {
  return ["valgrind", "setarch"].filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
}

/** Runs `node <args>` under callgrind and returns the instructions it executed. */
function countInstructions(args: readonly string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      "setarch",
      [
        process.arch === "x64" ? "x86_64" : process.arch,
        "-R",
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        process.execPath,
        ...NODE_FLAGS,
        ...args,
      ],
      { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const collected = /Collected : (\d+)/.exec(stderr);
      if (code !== 0 || !collected) reject(new Error(`node ${args.join(" ")} under valgrind: exit ${code}`));
      else resolvePromise(Number(collected[1]));
    });
  });
}

/** Runs `node <args>` once, uncounted (the compile cache's entries are written by such a run). */
function warmUp(args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, ...args], { cwd: ROOT, env, stdio: "ignore" });
    child.on("error", reject);
    child.on("close", () => resolvePromise());
  });
}

const missing = missingTools();
if (missing.length > 0) {
  process.stdout.write(
    `bench:instructions needs ${missing.join(" and ")} (Debian: apt-get install valgrind)\n`,
  );
  process.exit(0);
}

const epics = new Epics();
const github = await startFake(STARTUP_FAKE, null);
try {
  const { localEnv, syncEnv, localDir, syncDir, bareArgs, updateArgs } = await startupFixture(epics, github);
  const update = (dir: string, extra: string[] = []) => [BIN, ...updateArgs(dir, "1/7", extra)];
  const variants: [string, string[], Record<string, string>][] = [
    ["node empty.cjs", [EMPTY.cjs], localEnv],
    ["update, sync off (local run)", update(localDir), localEnv],
    ["node one-request.cjs (1 PATCH)", [ONE_REQUEST.cjs, ...bareArgs], syncEnv],
    ["update, sync on (--min-interval 0)", update(syncDir, ["--min-interval", "0"]), syncEnv],
  ];
  // All warm-ups first: the sync-off and sync-on updates share the `update` entries, which converge on
  // both paths (as they do in use) before anything is counted.
  for (const [, args, env] of variants) {
    await warmUp(args, env);
    await drainFlushers(syncDir, 5_000);
  }
  const counts: number[] = [];
  for (const [label, args, env] of variants) {
    counts.push(await countInstructions(args, env));
    await drainFlushers(syncDir, 5_000);
    process.stderr.write(`counted: ${label}\n`);
  }
  await drainFlushers(syncDir, 5_000);
  const [empty = 1, local = 0, bare = 1, synced = 0] = counts;
  const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;
  process.stdout.write(
    `\n## Start-up in CPU instructions (callgrind; node ${process.version}, ${NODE_FLAGS.join(" ")})\n${textTable(
      [
        ["command", "instructions", "ratio"],
        [variants[0]![0], millions(empty), ""],
        [variants[1]![0], millions(local), ratio(local / empty)],
        [variants[2]![0], millions(bare), ""],
        [variants[3]![0], millions(synced), ratio(synced / bare)],
      ],
    )}\n`,
  );
} finally {
  await github.close();
  await epics.cleanup();
}
