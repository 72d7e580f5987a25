import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeEpic, runCli, waitFor } from "../support/cli.js";

/**
 * A holder of the state lock that stalls past the lock's staleness (stopped with SIGSTOP or Ctrl-Z, swapped
 * out, a paused container) is taken over; when it goes on, its change, made on what it read, must not
 * overwrite what the next holder committed meanwhile (a change that exited 0 was lost that way).
 */
describe("a holder of the state lock that stalls past its staleness", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("makes its change again on the state the next holder committed: neither change is lost", async () => {
    const epic = await makeEpic();
    cleanup = epic.cleanup;
    const { dir } = epic;
    expect((await runCli(["init", "--epic", "E", "--domains", "a,b", "--dir", dir])).code).toBe(0);
    const state = join(dir, ".parallel-progress", "state.json");
    // A library reporter whose file system stalls (synchronously, as a stopped process does: no timer of
    // its own runs) once it has written its new state's temporary file, until another process committed.
    const holder = `
      import fs from "node:fs";
      const { ParallelProgressReporter } = await import(${JSON.stringify(join(process.cwd(), "dist/lib/index.js"))});
      let stalled = false;
      const stalling = new Proxy(fs, {
        get(target, key) {
          if (key !== "writeFileSync") return Reflect.get(target, key);
          return (path, ...rest) => {
            const result = target.writeFileSync(path, ...rest);
            if (!stalled && /\\.state\\.json\\..*\\.tmp$/.test(String(path))) {
              stalled = true;
              process.stdout.write("stalled\\n");
              const wait = new Int32Array(new SharedArrayBuffer(4));
              for (let i = 0; i < 600 && !target.readFileSync(${JSON.stringify(state)}, "utf8").includes('"completed"'); i++) {
                Atomics.wait(wait, 0, 0, 50);
              }
            }
            return result;
          };
        },
      });
      const reporter = new ParallelProgressReporter(${JSON.stringify(dir)}, { fs: stalling, env: {} });
      await reporter.updateAgentProgress("a", "in_progress", 1, 2);
      process.stdout.write("done\\n");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", holder]);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(await waitFor(() => out.includes("stalled"), 20_000, 10), err).toBe(true);
    // Another process takes the lock over once it is stale, and commits its change (exit 0).
    const other = await runCli(["update", "b", "--status", "completed", "--files", "3/3", "--dir", dir]);
    expect(other.code, other.stderr).toBe(0);
    expect(await exited, err).toBe(0);
    expect(out).toContain("done");
    const { agents } = JSON.parse(await readFile(state, "utf8")) as {
      agents: Record<string, { domain: string; status: string; filesCompleted: number }>;
    };
    const byName = Object.fromEntries(Object.values(agents).map((agent) => [agent.domain, agent]));
    expect(byName.b).toMatchObject({ status: "completed", filesCompleted: 3 });
    expect(byName.a).toMatchObject({ status: "in_progress", filesCompleted: 1 });
  }, 60_000);
});
