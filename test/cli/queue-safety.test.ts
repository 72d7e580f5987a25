import { execFileSync } from "node:child_process";
import { lstat, mkdir, readdir, readFile, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { makeEpic, runCli, taskMd } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

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

  it("with no run, a file set aside by an earlier retry is said by every later retry, dry run included", async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const dir = made.dir;
    const name = "comment_20250101_000000_000000.json";
    await mkdir(join(dir, QUEUE));
    await writeFile(join(dir, QUEUE, name), "garbage");
    const first = await runCli(["retry", "--dir", dir]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`moved aside as ${name}.corrupt`);
    const said = `parallel-progress: warning: 1 unreadable queue file(s) set aside earlier (${join(dir, QUEUE, `${name}.corrupt`)}): not sent; read them, then delete them\n`;
    for (const args of [["retry"], ["retry", "--dry-run"]]) {
      const again = await runCli([...args, "--dir", dir]);
      expect({ args, code: again.code, stderr: again.stderr }).toEqual({ args, code: 0, stderr: said });
    }
  });
});

describe("a file in the queue folder's place", () => {
  const fakeGitHub = useFakeGitHub("ghp_queuefile0123456789abcdefghijklmnopq");

  it("is moved aside with a warning: finalize posts the final summary, exit 0, and retry after it too", async () => {
    const { gh, cli, dir } = await fakeGitHub();
    await writeFile(join(dir, QUEUE), "");
    expect((await cli("init", "--epic", "QF", "--domains", "a")).code).toBe(0);
    expect((await cli("complete", "a")).code).toBe(0);
    const finalize = await cli("finalize", "--summary", "merged");
    expect(finalize.stderr).toContain(
      `queue file ${QUEUE} is unreadable (not a folder); moved aside as ${QUEUE}.corrupt`,
    );
    expect(finalize.code).toBe(0);
    expect((await lstat(join(dir, `${QUEUE}.corrupt`))).isFile()).toBe(true);
    const finals = gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === "final");
    expect(finals).toHaveLength(1);
    expect((await cli("retry")).code).toBe(0);
    // status counts what was set aside, whoever moved it.
    expect((await cli("status")).stdout).toMatch(
      /^GitHub: .*; 1 unreadable queue file\(s\) set aside \(\*\.corrupt\): read them, then delete them$/m,
    );
    expect(JSON.parse((await cli("status", "--json")).stdout).sync.setAside).toBe(1);
  });
});

describe("queued posts while sync is off, and for another API", () => {
  it("status names them, and retry --dry-run shows another API's entries as left", async () => {
    const made = await makeEpic(taskMd(5, "  sync_enabled: false\n"));
    cleanup = made.cleanup;
    const dir = made.dir;
    const env = { GITHUB_TOKEN: "t", GITHUB_API_URL: "http://127.0.0.1:9" };
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env })).code).toBe(0);
    await mkdir(join(dir, QUEUE));
    const other = { ...item, api_url: "https://ghe.example/api/v3", comment: "<!-- x -->" };
    await writeFile(join(dir, QUEUE, "comment_20251019_163000_000001.json"), JSON.stringify(other));
    const status = await runCli(["status", "--dir", dir], { env });
    expect(status.stdout.trim().split("\n").at(-1)).toBe(
      "GitHub: local tracking only; 1 queued post(s), kept while sync is off",
    );
    // A queue file set aside as unreadable is for a person to read, whether the run syncs or not.
    await writeFile(join(dir, QUEUE, "comment_20251019_163000_000002.json.corrupt"), "{");
    const withAside = await runCli(["status", "--dir", dir], { env });
    expect(withAside.stdout.trim().split("\n").at(-1)).toBe(
      "GitHub: local tracking only; 1 queued post(s), kept while sync is off; 1 unreadable queue file(s) set aside (*.corrupt): read them, then delete them",
    );
    const dry = await runCli(["retry", "--dry-run", "--dir", dir], { env });
    expect(dry.code).toBe(3);
    expect(dry.stdout.trim().split("\t").slice(0, 3)).toEqual([
      "comment_20251019_163000_000001.json",
      "left",
      "progress",
    ]);
    // An unreadable queue file: named by the retry too (sync off, it reads the queue as a dry run does).
    await writeFile(join(dir, QUEUE, "comment_20251019_163000_000003.json"), "{garbage");
    for (const [args, why] of [
      [["retry", "--dry-run"], "dry run"],
      [["retry"], "sync is off"],
    ] as const) {
      const result = await runCli([...args, "--dir", dir], { env });
      expect(result.stderr).toContain(
        `queue file comment_20251019_163000_000003.json is unreadable (not valid JSON); left in place (${why})`,
      );
    }
  });
});

describe("what else can sit in the queue folder under a queue file's name", () => {
  it("a pipe, a symlink loop, a dangling symlink and a huge file are named and set aside unread, not hanging or failing retry", async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const folder = join(made.dir, QUEUE);
    await mkdir(folder);
    const name = (n: number) => `comment_20251019_163000_00000${n}.json`;
    execFileSync("mkfifo", [join(folder, name(1))]); // a read would wait for a writer forever
    await symlink(name(2), join(folder, name(2))); // ELOOP
    await symlink("/nonexistent", join(folder, name(3)));
    await writeFile(join(folder, name(4)), "");
    await truncate(join(folder, name(4)), 700 * 1024 * 1024); // sparse: more than a string can hold
    await writeFile(join(folder, name(5)), JSON.stringify(item));

    const dry = await runCli(["retry", "--dry-run", "--dir", made.dir], { timeoutMs: 20_000 });
    expect(dry.code, dry.stderr).toBe(3);
    expect(dry.stdout.trim().split("\n")).toHaveLength(1);
    expect(dry.stderr).toContain(
      `${name(1)} is unreadable (a named pipe, not a file); left in place (dry run)`,
    );
    expect(dry.stderr).toContain(`${name(2)} is unreadable (a symbolic link, not a file)`);
    expect(dry.stderr).toContain(`${name(3)} is unreadable (a symbolic link, not a file)`);
    expect(dry.stderr).toContain(
      `${name(4)} is unreadable (734003200 bytes, more than a queue file's 1048576)`,
    );

    // The valid entry is for api.github.com: left queued, nothing sent anywhere.
    const env = { GITHUB_API_URL: "http://127.0.0.1:9" };
    const result = await runCli(["retry", "--dir", made.dir], { env, timeoutMs: 20_000 });
    expect(result.stderr).not.toContain("error");
    expect(result.code, result.stderr).toBe(3);
    const left = (await readdir(folder)).filter((n) => n.startsWith("comment_")).sort();
    expect(left).toEqual([...[1, 2, 3, 4].map((n) => `${name(n)}.corrupt`), name(5)]);
    expect((await lstat(join(folder, `${name(1)}.corrupt`))).isFIFO()).toBe(true);
  });
});

describe("several retries at once in a directory with no run", () => {
  const fakeGitHub = useFakeGitHub("ghp_queueSafetyToken0123456789abcdefghij");

  it("post each queued entry once: the queue folder is locked when there is no run to lock", async () => {
    const { gh, dir, cli } = await fakeGitHub({ task: null });
    await mkdir(join(dir, QUEUE));
    const entry = (n: number, kind: "progress" | "final") => {
      const marker = kind === "final" ? "final run=OLD-1" : "progress run=OLD-1 seq=3";
      const comment = `${kind} body\n\n<!-- parallel-progress:${marker} -->`;
      const data = { ...item, issue_number: 123, comment, api_url: gh.url, kind, run_id: "OLD-1", seq: 3 };
      return writeFile(join(dir, QUEUE, `comment_20251019_163000_00000${n}.json`), JSON.stringify(data));
    };
    await entry(1, "progress");
    await entry(2, "final");
    const results = await Promise.all(Array.from({ length: 6 }, () => cli("retry")));
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    const markers = gh.comments("acme/widgets", 123).map((c) => parseMarker(c.body)?.kind);
    expect(markers.sort()).toEqual(["final", "progress"]);
    expect((await readdir(join(dir, QUEUE))).filter((n) => n !== ".gitignore")).toEqual([]);
  });
});
