import { spawnSync } from "node:child_process";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, makeEpic, runCli } from "../support/cli.js";

// The bin's own cache, on every Node version (it loads the bundles itself, not through Node's loader).
describe("compile cache of the CLI bundles", () => {
  let base: string;
  let epic: Awaited<ReturnType<typeof makeEpic>>;
  const folder = () =>
    join(base, `${process.version}-${process.arch}${process.getuid ? `-${process.getuid()}` : ""}`);
  const update = (files: string, env: Record<string, string> = {}) =>
    runCli(["update", "a", "--status", "in_progress", "--files", files, "--dir", epic.dir], {
      env: { NODE_COMPILE_CACHE: base, NODE_DEBUG: "parallel-progress", ...env },
    });
  const entries = async () => (await readdir(folder()).catch(() => [] as string[])).sort();
  const mainEntries = async () =>
    (await entries()).filter((name) => name.includes("-main.js-update-") && name.endsWith(".bin"));

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "pp-compile-cache-"));
    epic = await makeEpic("---\ntitle: Local\n---\n");
    const init = await runCli(["init", "--epic", "CC", "--domains", "a,b", "--dir", epic.dir], {
      env: { NODE_DISABLE_COMPILE_CACHE: "1" },
    });
    expect(init.code).toBe(0);
  });
  afterEach(async () => {
    await epic.cleanup();
    await rm(base, { recursive: true, force: true });
  });

  it("is written by the first run of a command and used by the next; the results are the same", async () => {
    const first = await update("1/4");
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("compile cache: main.js (update): none");
    expect(first.stderr).toContain("compile cache: main.js (update): written");
    const [entry] = await mainEntries();
    expect(entry).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}-main\.js-update-[0-9a-f]{8}\.bin$/);
    // Beside V8's data, the list of what the run required (text).
    expect(await entries()).toContain(`${entry}.covers`);
    // This user's alone: the folder 0700, the entries 0600.
    expect((await stat(folder())).mode & 0o777).toBe(0o700);
    expect((await stat(join(folder(), entry!))).mode & 0o777).toBe(0o600);
    expect((await stat(join(folder(), `${entry}.covers`))).mode & 0o777).toBe(0o600);

    const second = await update("2/4");
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("compile cache: main.js (update): used");
    expect(second.stderr).not.toContain("written");
    const status = await runCli(["status", "--json", "--dir", epic.dir], {
      env: { NODE_COMPILE_CACHE: base },
    });
    expect(JSON.parse(status.stdout).agents[0]).toMatchObject({
      domain: "a",
      filesCompleted: 2,
      filesTotal: 4,
    });
    // Each command has its own entry (the functions it runs differ).
    expect((await entries()).some((name) => name.includes("-main.js-status-"))).toBe(true);
  });

  it("a damaged entry is refused by V8, the command runs as usual, and the entry is rewritten", async () => {
    expect((await update("1/4")).code).toBe(0);
    const [entry] = await mainEntries();
    await writeFile(join(folder(), entry!), Buffer.alloc(4096, 7));
    const damaged = await update("3/4");
    expect(damaged.code).toBe(0);
    expect(damaged.stderr).toContain("compile cache: main.js (update): refused");
    expect(damaged.stderr).toContain("compile cache: main.js (update): written");
    expect((await update("4/4")).stderr).toContain("compile cache: main.js (update): used");
    const status = await runCli(["status", "--json", "--dir", epic.dir]);
    expect(JSON.parse(status.stdout).agents[0]).toMatchObject({ filesCompleted: 4, filesTotal: 4 });
  });

  it("runs under other Node options get entries of their own (V8 refuses data made under other flags)", async () => {
    expect((await update("1/4")).code).toBe(0);
    const flagged = await update("2/4", { NODE_OPTIONS: "--max-old-space-size=200" });
    expect(flagged.stderr).toContain("compile cache: main.js (update): none");
    expect(await mainEntries()).toHaveLength(2);
    // Neither displaces the other.
    expect((await update("3/4")).stderr).toContain("compile cache: main.js (update): used");
    const again = await update("4/4", { NODE_OPTIONS: "--max-old-space-size=200" });
    expect(again.stderr).toContain("compile cache: main.js (update): used");
  });

  it("an entry written by a run that went down fewer paths is rewritten once by one that went further", async () => {
    expect((await update("1/4")).code).toBe(0); // task.md as at init: main.js only
    await writeFile(join(epic.dir, "task.md"), "---\ntitle: Local, renamed\n---\n");
    const further = await update("2/4"); // task.md changed: its parser's bundle is required too
    expect(further.stderr).toContain("compile cache: main.js (update): used");
    expect(further.stderr).toContain("compile cache: main.js (update): written");
    const [entry] = await mainEntries();
    const covers = await readFile(join(folder(), `${entry}.covers`), "utf8");
    expect(covers.split(",")).toEqual(
      expect.arrayContaining(["./main.js", "./lazy-config-read-task-file.js"]),
    );
    const again = await update("3/4");
    expect(again.stderr).toContain("compile cache: main.js (update): used");
    expect(again.stderr).not.toContain("written");
  });

  it("data without its list of what it covers counts as none and is written again", async () => {
    expect((await update("1/4")).code).toBe(0);
    const [entry] = await mainEntries();
    await rm(join(folder(), `${entry}.covers`));
    const again = await update("2/4");
    expect(again.stderr).toContain("compile cache: main.js (update): none");
    expect(again.stderr).toContain("compile cache: main.js (update): written");
    expect(await entries()).toContain(`${entry}.covers`);
  });

  it("a call that writes an entry removes other builds' entries (and stray temporary files) untouched for 30 days", async () => {
    await mkdir(folder(), { recursive: true, mode: 0o700 });
    const old = new Date(Date.now() - 31 * 24 * 60 * 60 * 1000);
    const stale = ["0123456789abcdef-01234567-main.js-update-89abcdef.bin", "x.bin.123.tmp"];
    const recent = "fedcba9876543210-01234567-main.js-update-89abcdef.bin";
    for (const name of [...stale, recent]) await writeFile(join(folder(), name), "old data");
    for (const name of stale) await utimes(join(folder(), name), old, old);
    const first = await update("1/4"); // writes this build's entries
    expect(first.stderr).toContain("compile cache: main.js (update): written");
    const names = await entries();
    for (const name of stale) expect(names).not.toContain(name);
    expect(names).toContain(recent); // another build's, but recent: it may be in use
    expect(names.some((name) => name.includes("-main.js-update-") && name !== recent)).toBe(true);
  });

  it.skipIf(!process.getuid)("a folder others can write to is not used", async () => {
    expect((await update("1/4")).code).toBe(0);
    await chmod(folder(), 0o777);
    const result = await update("2/4");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("is not this user's alone: not used");
    expect(result.stderr).not.toContain("main.js (update): used");
  });

  it("shows which bundles a call loads: without a task.md, no task.md parser (gray-matter, zod)", async () => {
    await rm(join(epic.dir, "task.md"));
    const result = await update("1/4", { GITHUB_REPOSITORY: "" });
    expect(result.code).toBe(0);
    const withIssue = await runCli(
      ["update", "a", "--status", "in_progress", "--issue", "5", "--dir", epic.dir],
      { env: { NODE_COMPILE_CACHE: base, NODE_DEBUG: "parallel-progress" } },
    );
    expect(withIssue.code).toBe(0);
    expect(withIssue.stderr).toContain("compile cache: main.js (update)");
    expect(withIssue.stderr).not.toContain("read-task-file");
  });

  it("a refused call (a mistyped command) writes no entry", async () => {
    const typo = await runCli(["frobnicate", "--dir", epic.dir], {
      env: { NODE_COMPILE_CACHE: base, NODE_DEBUG: "parallel-progress" },
    });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("compile cache: main.js (frobnicate): none");
    expect(await entries()).toEqual([]);
  });

  it("NODE_DISABLE_COMPILE_CACHE=1 turns it off: nothing read or written", async () => {
    const result = await update("1/4", { NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("compile cache");
    expect(await entries()).toEqual([]);
  });
});

describe("the bin without a build", () => {
  it("says the CLI is not built and exits 1 (one line, no stack)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-unbuilt-"));
    try {
      await mkdir(join(dir, "bin"));
      await copyFile(BIN, join(dir, "bin", "parallel-progress.cjs"));
      const result = spawnSync(process.execPath, [join(dir, "bin", "parallel-progress.cjs"), "--version"], {
        encoding: "utf8",
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(
        "parallel-progress: the CLI is not built (dist/cli/main.js is missing): run `npm run build`\n",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
