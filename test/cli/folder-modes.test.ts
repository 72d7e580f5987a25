import { chmod, mkdir, readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeEpic, queueFiles, runCli, stopFlushers, taskMd, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";
import { closedPort } from "../support/loopback.js";

/**
 * Under umask 000 the folders the tool made came out 0777 and their .gitignore 0666 (the files in them were
 * 0600 already): any local user could make `.parallel-progress/state.lock` and keep it fresh, so that the
 * owner's every change failed after waiting for it, or move state.json away. Each folder the tool makes is
 * now 0755 and each .gitignore 0644 whatever the umask; a folder that was there is left as it is.
 */

const fakeGitHub = useFakeGitHub("ghp_foldermodes0123456789abcdefghijklmn");

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** Every entry under `dir` but task.md, by its path there, with its mode (`755`, `600`...). */
async function modes(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const name of await readdir(dir, { recursive: true })) {
    if (name === "task.md") continue;
    found[name] = ((await stat(join(dir, name))).mode & 0o777).toString(8);
  }
  return found;
}

/** The entries of `found` that another user could write: a folder or file that is group or world writable. */
const writableByOthers = (found: Record<string, string>) =>
  Object.entries(found).filter(([, mode]) => (Number.parseInt(mode, 8) & 0o022) !== 0);

describe("the folders the tool makes, under umask 000", () => {
  it("the state and queue folders are 0755 and their .gitignore 0644; the files the owner's alone", async () => {
    const { gh, dir, env } = await fakeGitHub();
    const cli = (...args: string[]) => runCli([...args, "--dir", dir], { env, umask: "000" });
    gh.setFaults({ down: true }); // so the posts are queued: the queue folder is made
    expect((await cli("init", "--epic", "E1", "--domains", "a")).code).toBe(0);
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/2")).code).toBe(0);
    expect(await waitFor(async () => (await queueFiles(dir)).length > 0)).toBe(true);
    await stopFlushers(dir);

    const found = await modes(dir);
    expect(found).toMatchObject({
      ".parallel-progress": "755",
      ".parallel-progress/.gitignore": "644",
      ".parallel-progress/state.json": "600",
      ".github_parallel_queue": "755",
      ".github_parallel_queue/.gitignore": "644",
    });
    expect(writableByOthers(found)).toEqual([]);
  });

  it("the pending folder of a database store that does not answer, and its waiter's lock", async () => {
    const { dir, cleanup } = await makeEpic(taskMd(123));
    cleanups.push(async () => {
      await stopFlushers(dir);
      await cleanup();
    });
    const store = `postgresql://u:pw@127.0.0.1:${await closedPort()}/db`;
    const args = ["update", "a", "--status", "pending", "--epic", "E", "--store", store, "--dir", dir];
    const result = await runCli(args, { umask: "000" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/not answering/);
    // The waiter (a background writer started by the command, under its umask) holds its mkdir lock.
    const pending = join(dir, ".parallel-progress", "pending");
    let lock: string | undefined;
    const held = async () => {
      lock = (await readdir(pending)).find((name) => /^\.waiter-.*\.lock$/.test(name));
      return lock !== undefined;
    };
    expect(await waitFor(held)).toBe(true);

    const found = await modes(dir);
    expect(found).toMatchObject({
      ".parallel-progress": "755",
      ".parallel-progress/.gitignore": "644",
      ".parallel-progress/pending": "755",
      [`.parallel-progress/pending/${lock}`]: "755",
    });
    expect(
      Object.keys(found).filter((name) => /^\.parallel-progress\/pending\/change_.*\.json$/.test(name)),
    ).toHaveLength(1);
    expect(writableByOthers(found)).toEqual([]);
  });

  it("a folder that was there is left with the mode it had", async () => {
    const { gh, dir, env } = await fakeGitHub();
    await mkdir(join(dir, ".parallel-progress"));
    await chmod(join(dir, ".parallel-progress"), 0o775);
    const init = await runCli(["init", "--epic", "E1", "--domains", "a", "--dir", dir], {
      env,
      umask: "000",
    });
    expect(init.code, init.stderr).toBe(0);
    expect(gh.comments("acme/widgets", 123)).toHaveLength(1);
    const found = await modes(dir);
    expect(found[".parallel-progress"]).toBe("775");
    expect(found[relative(dir, join(dir, ".parallel-progress", "state.json"))]).toBe("600");
  });
});
