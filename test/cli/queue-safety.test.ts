import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeEpic, runCli } from "../support/cli.js";

/** Issue 11, item 9: a dry run changes nothing on disk; a folder in the queue does not make retry fail. */

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

/** Every path under `dir` with its content (folders as "/"), to compare the disk before and after. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        out[path] = "/";
        await walk(path);
      } else out[path] = await readFile(path, "utf8");
    }
  };
  await walk(dir);
  return out;
}

const QUEUE = ".github_parallel_queue";
const item = {
  issue_number: 5,
  comment: "body",
  timestamp: "2025-10-19T16:30:00.000Z",
  repo: "acme/widgets",
  kind: "progress",
  run_id: "E-20251019T163000Z-00",
  seq: 2,
};

describe("retry and the queue folder", () => {
  it("--dry-run lists and changes nothing on disk, unreadable files and run state included", async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const dir = made.dir;
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
    await mkdir(join(dir, QUEUE));
    await writeFile(join(dir, QUEUE, "comment_20251019_163000_000001.json"), JSON.stringify(item));
    await writeFile(join(dir, QUEUE, "comment_20251019_163000_000002.json"), "{oops");
    await mkdir(join(dir, QUEUE, "comment_20251019_163000_000003.json"));
    const before = await snapshot(dir);
    const result = await runCli(["retry", "--dry-run", "--dir", dir]);
    expect(result.code).toBe(3);
    expect(result.stdout.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(
      "comment_20251019_163000_000002.json is unreadable (not valid JSON); left in place (dry run)",
    );
    expect(result.stderr).toContain(
      "comment_20251019_163000_000003.json is unreadable (a folder, not a file); left in place (dry run)",
    );
    expect(await snapshot(dir)).toEqual(before);
  });

  it("a folder named like a queue file is set aside, not an internal error", async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const dir = made.dir;
    await mkdir(join(dir, QUEUE, "comment_20251019_163000_000003.json"), { recursive: true });
    const result = await runCli(["retry", "--dir", dir]);
    expect(result.stderr).toContain(
      "is unreadable (a folder, not a file); moved aside as comment_20251019_163000_000003.json.corrupt",
    );
    expect(result.code).toBe(0);
    expect((await stat(join(dir, QUEUE, "comment_20251019_163000_000003.json.corrupt"))).isDirectory()).toBe(
      true,
    );
  });
});
