import { readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, flusherPids, runCli, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

const TOKEN = "ghp_testtoken0123456789abcdefghijklmnopqrstu";
const fakeGitHub = useFakeGitHub(TOKEN);

/** The CLI bundles (dist/cli/*.cjs) a call loaded, in order, as Node's own module debug log tells. */
function bundlesLoaded(stderr: string): string[] {
  return [...stderr.matchAll(/MODULE \d+: load "[^"]*\/dist\/cli\/([\w-]+\.cjs)"/g)].map(
    (match) => match[1]!,
  );
}

describe("the CLI's bundles: each call loads what its command needs", () => {
  it("an update reads the task.md parser only when task.md changed, and the GitHub client only to write", async () => {
    const { dir, env, cli } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    const update = (files: string, ...extra: string[]) =>
      runCli(["update", "a", "--status", "in_progress", "--files", files, "--dir", dir, ...extra], {
        env: { ...env, NODE_DEBUG: "module" },
      });

    // No write due (writes at least 10 minutes apart): left to the background writer; nothing else is read.
    const local = await update("1/4", "--min-interval", "600000");
    expect(local.code).toBe(0);
    expect(bundlesLoaded(local.stderr)).toEqual(["main.cjs"]);
    // commander's child_process is deferred (scripts/bundling.mjs): nothing in an update reads it
    // (the debug log names each built-in loaded, as fs shows).
    expect(local.stderr).toMatch(/load built-in module (node:)?fs\b/);
    expect(local.stderr).not.toMatch(/load built-in module (node:)?child_process/);
    // Nor does it read the global `performance`, which loads perf_hooks (about 1 ms): Node's list of the
    // modules it loaded, printed as the call exits by a preloaded script, tells (the debug log names only
    // what a require loads).
    const preload = join(dir, "loaded.cjs");
    await writeFile(
      preload,
      'process.on("exit", () => process.stderr.write("LOADED " + process.moduleLoadList.join(",") + "\\n"));',
    );
    const listed = await runCli(
      ["update", "a", "--status", "in_progress", "--files", "1/4", "--dir", dir, "--min-interval", "600000"],
      { env: { ...env, NODE_OPTIONS: `--require ${preload}` } },
    );
    expect(listed.stderr).toMatch(/LOADED .*NativeModule fs\b/);
    expect(listed.stderr).not.toMatch(/NativeModule perf_hooks/);
    // Its background writer sees nothing due within a minute and ends: it cannot take the next write.
    expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 10_000)).toBe(true);

    const writing = await update("2/4", "--min-interval", "0");
    expect(writing.code).toBe(0);
    expect(bundlesLoaded(writing.stderr)).toEqual(["main.cjs", "sync-client-and-renderer.cjs"]);

    const later = new Date(Date.now() + 5_000);
    await utimes(join(dir, "task.md"), later, later);
    const reread = await update("3/4", "--min-interval", "600000");
    expect(reread.code).toBe(0);
    expect(bundlesLoaded(reread.stderr)).toEqual(["main.cjs", "config-task-file.cjs"]);
  });

  it("main.cjs, read by every call, holds none of the PostgreSQL store's SQL (its migrations)", async () => {
    const bundle = (name: string) => readFile(join(BIN, "../../dist/cli", name), "utf8");
    expect(await bundle("store-pg-pg-store.cjs")).toContain("CREATE TABLE");
    expect(await bundle("main.cjs")).not.toContain("CREATE TABLE");
  });

  it("main.cjs makes no grapheme segmenter (ICU's break data, ~12 ms of every call): the table's bundle does", async () => {
    const bundle = (name: string) => readFile(join(BIN, "../../dist/cli", name), "utf8");
    expect(await bundle("cli-terminal-table.cjs")).toContain("Intl.Segmenter");
    expect(await bundle("main.cjs")).not.toContain("Intl.Segmenter");
  });
});
