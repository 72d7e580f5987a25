import * as nodeFs from "node:fs";
import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { readTaskFile, statTaskFile } from "../../src/config/read-task-file.js";
import { parseTaskFile, type TaskSettings } from "../../src/config/task-file.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/util/io.js";

const CONTRACT_EXAMPLE = `---
github:
  issue_number: 123        # positive integer; absent: local tracking only
  sync_enabled: true       # default true; false: local tracking only, no GitHub traffic
  repo: owner/name         # optional
  last_synced: 2025-10-19T16:30:00   # written by the tool after a successful finalize
---
# Epic

Body text.
`;

const NOTHING: TaskSettings = {
  issueNumber: null,
  syncEnabled: true,
  repo: null,
  commentMode: null,
  minIntervalMs: null,
  lastSynced: null,
  unread: [],
};

function messageOf(text: string): string {
  try {
    parseTaskFile(text, "task.md");
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain("\n");
    return (error as Error).message;
  }
  throw new Error("expected a UsageError");
}

const withGithub = (lines: string) => `---\ngithub:\n${lines}\n---\nbody\n`;

describe("parseTaskFile", () => {
  it("reads the contract's example", () => {
    expect(parseTaskFile(CONTRACT_EXAMPLE, "task.md")).toEqual({
      issueNumber: 123,
      syncEnabled: true,
      repo: "owner/name",
      commentMode: null,
      minIntervalMs: null,
      lastSynced: "2025-10-19T16:30:00",
      unread: [],
    });
  });

  it("reads every field", () => {
    const text = withGithub(
      "  issue_number: 7\n  sync_enabled: false\n  repo: my-org/my.repo_1\n  comment_mode: append\n  min_interval_ms: 0\n  last_synced: '2025-01-02T03:04:05'",
    );
    expect(parseTaskFile(text, "task.md")).toEqual({
      issueNumber: 7,
      syncEnabled: false,
      repo: "my-org/my.repo_1",
      commentMode: "append",
      minIntervalMs: 0,
      lastSynced: "2025-01-02T03:04:05",
      unread: [],
    });
  });

  it("accepts files without frontmatter, without github, or with an empty github", () => {
    expect(parseTaskFile("", "task.md")).toEqual(NOTHING);
    expect(parseTaskFile("# Just a body\n\n---\n", "task.md")).toEqual(NOTHING);
    expect(parseTaskFile("---\ntitle: x\n---\nbody", "task.md")).toEqual(NOTHING);
    expect(parseTaskFile("---\n---\nbody", "task.md")).toEqual(NOTHING);
    expect(parseTaskFile("---\ngithub:\n---\nbody", "task.md")).toEqual(NOTHING);
    expect(parseTaskFile(withGithub("  issue_number:\n  repo:"), "task.md")).toEqual(NOTHING);
  });

  it("ignores unknown keys at every level; those under github are named for a warning", () => {
    const text =
      "---\nowner: me\nextra: [1, 2]\ngithub:\n  issue_number: 5\n  labels: [a]\n  nested: {x: 1}\n---\n";
    const settings = parseTaskFile(text, "task.md");
    expect({ ...settings, unread: [] }).toEqual({ ...NOTHING, issueNumber: 5 });
    expect(settings.unread.map((what) => what.split(" ")[0])).toEqual(["github.labels", "github.nested"]);
  });

  it("reads CRLF files and a BOM", () => {
    const text = "\uFEFF---\r\ngithub:\r\n  issue_number: 9\r\n  repo: a/b\r\n---\r\nbody\r\n";
    expect(parseTaskFile(text, "task.md")).toEqual({ ...NOTHING, issueNumber: 9, repo: "a/b" });
  });

  it("reads a quoted whole number as the number", () => {
    expect(parseTaskFile(withGithub('  issue_number: "12"'), "task.md").issueNumber).toBe(12);
  });

  it("does not hand back gray-matter's cached object", () => {
    const first = parseTaskFile(withGithub("  issue_number: 1"), "task.md");
    first.issueNumber = 99;
    expect(parseTaskFile(withGithub("  issue_number: 1"), "task.md").issueNumber).toBe(1);
  });

  it("names the file, the field and the value", () => {
    expect(messageOf(withGithub("  issue_number: abc"))).toBe(
      'task.md: github.issue_number must be a positive integer, got "abc"',
    );
    expect(messageOf(withGithub("  issue_number: 0"))).toBe(
      "task.md: github.issue_number must be a positive integer, got 0",
    );
    expect(messageOf(withGithub("  issue_number: 1.5"))).toBe(
      "task.md: github.issue_number must be a positive integer, got 1.5",
    );
    expect(parseTaskFile(withGithub("  issue_number: 2147483647"), "task.md").issueNumber).toBe(2147483647);
    for (const big of ["2147483648", "3000000000", "'3000000000'", "1e20"]) {
      expect(messageOf(withGithub(`  issue_number: ${big}`))).toMatch(
        /^task\.md: github\.issue_number must be at most 2147483647 \(GitHub's issue numbers are 32-bit\), got "?(2147483648|3000000000|100000000000000000000)"?$/,
      );
    }
    expect(messageOf(withGithub("  sync_enabled: maybe"))).toBe(
      'task.md: github.sync_enabled must be true or false, got "maybe"',
    );
    expect(messageOf(withGithub("  repo: not-a-repo"))).toBe(
      'task.md: github.repo must be owner/name, got "not-a-repo"',
    );
    expect(messageOf(withGithub("  repo: a/b/c"))).toBe(
      'task.md: github.repo must be owner/name, got "a/b/c"',
    );
    expect(messageOf(withGithub("  comment_mode: replace"))).toBe(
      'task.md: github.comment_mode must be edit or append, got "replace"',
    );
    expect(messageOf(withGithub("  min_interval_ms: -5"))).toBe(
      "task.md: github.min_interval_ms must be a whole number of milliseconds from 0 to 600000, got -5",
    );
    expect(messageOf(withGithub("  last_synced: 12"))).toBe(
      "task.md: github.last_synced must be a timestamp such as 2025-10-19T16:30:00, got 12",
    );
  });

  it("uses the path it is given", () => {
    try {
      parseTaskFile(withGithub("  issue_number: abc"), "/epics/e1/task.md");
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/^\/epics\/e1\/task\.md: github\.issue_number/);
      expect((error as Error).cause).toBeDefined();
    }
  });

  it("rejects a github that is not a mapping", () => {
    expect(messageOf("---\ngithub: 123\n---\n")).toBe(
      "task.md: github must be a mapping of settings (issue_number, repo, ...), got 123",
    );
    expect(messageOf("---\ngithub: [1, 2]\n---\n")).toMatch(/github must be a mapping .*, got \[1,2\]$/);
  });

  it("reads numbers as YAML 1.2 does: a leading zero is decimal, base 60 is text (YAML 1.1 posted on another issue)", () => {
    const read = (value: string) =>
      parseTaskFile(`---\ngithub:\n  issue_number: ${value}\n  min_interval_ms: 0100\n---\n`, "task.md");
    expect(read("012")).toMatchObject({ issueNumber: 12, minIntervalMs: 100 });
    expect(read("0042").issueNumber).toBe(42);
    expect(() => read("1:30")).toThrow(
      /^task\.md: github\.issue_number must be a positive integer, got "1:30"$/,
    );
  });

  it("names what it seems to set but does not read: a misspelt key, a GitHub: block, a --- block not at the start", () => {
    const unread = (text: string) => parseTaskFile(text, "task.md").unread;
    expect(
      unread("---\ngithub:\n  issue-number: 5\n  issueNumber: 6\n  syncenabled: false\n  labels: x\n---\n"),
    ).toEqual([
      "github.issue-number is not a setting (issue_number, sync_enabled, repo, last_synced, comment_mode, min_interval_ms): ignored; did you mean issue_number?",
      "github.issueNumber is not a setting (issue_number, sync_enabled, repo, last_synced, comment_mode, min_interval_ms): ignored; did you mean issue_number?",
      "github.syncenabled is not a setting (issue_number, sync_enabled, repo, last_synced, comment_mode, min_interval_ms): ignored; did you mean sync_enabled?",
      "github.labels is not a setting (issue_number, sync_enabled, repo, last_synced, comment_mode, min_interval_ms): ignored",
    ]);
    expect(unread("---\nGitHub:\n  issue_number: 5\n---\n")).toEqual([
      `"GitHub" is not read: the settings' key is github, in lower case`,
    ]);
    expect(unread("\n---\ngithub:\n  issue_number: 5\n---\n")).toEqual([
      "its --- block does not start the file (a blank line or a space before it): its settings are not read",
    ]);
    expect(unread("---\ngithub:\n  issue_number: 5\ntitle: mine\n---\n# Epic\n---\n")).toEqual([]);
    expect(unread("---\nissue_number: 123\nrepo: acme/widgets\n---\n")).toEqual([
      `"issue_number" at the top level is not read: the settings go under github:`,
      `"repo" at the top level is not read: the settings go under github:`,
    ]);
  });

  it("reports broken YAML on one line and keeps the cause", () => {
    const text = "---\ngithub:\n  issue_number: 1\n   repo: a/b\n---\n";
    try {
      parseTaskFile(text, "task.md");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(
        /^task\.md: invalid YAML frontmatter: bad indentation .* at line 4, column \d+$/,
      );
      expect((error as Error).cause).toBeInstanceOf(Error);
    }
    expect(messageOf("---\ngithub:\n  issue_number: 1\n  issue_number: 2\n---\n")).toBe(
      "task.md: invalid YAML frontmatter: duplicated mapping key at line 4, column 3",
    );
  });

  it("refuses non-YAML frontmatter instead of evaluating it", () => {
    const text = "---js\n{ github: (globalThis.__pwned = 1) }\n---\n";
    expect(messageOf(text)).toBe('task.md: frontmatter must be YAML, got a "js" block');
    expect((globalThis as Record<string, unknown>).__pwned).toBeUndefined();
  });

  it("rejects frontmatter that is not a mapping", () => {
    expect(messageOf("---\n- a\n- b\n---\n")).toBe(
      'task.md: frontmatter must be a YAML mapping (key: value lines), got ["a","b"]',
    );
  });
});

describe("readTaskFile and statTaskFile", () => {
  const make = (files: Record<string, string>) =>
    createFsFromVolume(Volume.fromJSON(files)) as unknown as FileSystem;

  it("return null without a task.md", async () => {
    const fs = make({ "/epic/other.md": "x" });
    await expect(readTaskFile(fs, "/epic")).resolves.toBeNull();
    expect(statTaskFile(fs, "/epic")).toBeNull();
    await expect(readTaskFile(fs, "/missing")).resolves.toBeNull();
  });

  it("read, parse and stat task.md", async () => {
    const fs = make({ "/epic/task.md": CONTRACT_EXAMPLE });
    const file = await readTaskFile(fs, "/epic");
    const stat = statTaskFile(fs, "/epic");
    expect(file).toMatchObject({
      path: "/epic/task.md",
      text: CONTRACT_EXAMPLE,
      size: CONTRACT_EXAMPLE.length,
    });
    expect(file?.settings.issueNumber).toBe(123);
    expect(stat).toEqual({ mtimeMs: file?.mtimeMs, size: file?.size });
  });

  it("name the full path in errors", async () => {
    const fs = make({ "/epic/task.md": withGithub("  issue_number: abc") });
    await expect(readTaskFile(fs, "/epic")).rejects.toThrow(
      'epic/task.md: github.issue_number must be a positive integer, got "abc"',
    );
  });

  it("refuse a task.md saved as UTF-16 (PowerShell's `>`), whose settings UTF-8 would not find", async () => {
    const text = "---\ngithub:\n  issue_number: 5\n---\n";
    for (const bytes of [
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]),
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, "utf16le").swap16()]),
    ]) {
      const fs = make({});
      fs.mkdirSync("/epic");
      fs.writeFileSync("/epic/task.md", bytes);
      await expect(readTaskFile(fs, "/epic")).rejects.toThrow(
        "/epic/task.md: is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8",
      );
    }
    // UTF-8 with its byte order mark is read as before.
    const fs = make({ "/epic/task.md": `\uFEFF${text}` });
    expect((await readTaskFile(fs, "/epic"))!.settings.issueNumber).toBe(5);
  });

  it("report a task.md that cannot be read", async () => {
    const fs = make({ "/epic/task.md/inner": "x" });
    await expect(readTaskFile(fs, "/epic")).rejects.toThrow(
      "/epic/task.md: cannot be read: a folder, not a file",
    );
  });

  it("refuse a task.md larger than 64 MiB before reading it (past 512 MiB every command crashed)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-big-task-"));
    try {
      const path = join(dir, "task.md");
      await writeFile(path, "---\ngithub:\n  issue_number: 5\n---\n");
      await truncate(path, 64 * 1024 * 1024 + 1); // sparse: no disk taken
      await expect(readTaskFile(nodeFs as unknown as FileSystem, dir)).rejects.toThrow(
        `${path}: cannot be read: it is 67108865 bytes, more than the 67108864 a task.md may be: keep the epic's notes elsewhere`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
