import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSummaryFile } from "../../src/cli/summary-file.js";
import { MAX_MERGE_SUMMARY } from "../../src/model/agent-text.js";
import { runCli, spawnCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";

/** `finalize --summary-file` reads UTF-8, or UTF-16 with a byte order mark (as PowerShell writes it). */

const TEXT = "merged ✓ 🚀\nall green\n";

describe("readSummaryFile's encodings", () => {
  const read = async (bytes: Buffer) => {
    const dir = await mkdtemp(join(tmpdir(), "pp-summary-"));
    try {
      await writeFile(join(dir, "summary.md"), bytes);
      return readSummaryFile(join(dir, "summary.md")).text;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it.each([
    ["UTF-8", Buffer.from(TEXT, "utf8")],
    ["UTF-8 with a BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT, "utf8")])],
    ["UTF-16 LE with a BOM", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, "utf16le")])],
    [
      "UTF-16 BE with a BOM",
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(TEXT, "utf16le").swap16()]),
    ],
  ])("reads %s, without the mark", async (_name, bytes) => {
    expect(await read(bytes)).toBe(TEXT);
  });

  it("reads UTF-16 without a mark as UTF-8 would: with NULs, which it refuses", async () => {
    await expect(read(Buffer.from("ab", "utf16le"))).rejects.toThrow(/may not contain NUL characters/);
  });
});

describe("readSummaryFile", () => {
  // The whole file was read into one string: past 512 MiB (Node's longest) finalize crashed, and an
  // endless pipe filled the memory. Now the start is held and the rest counted.
  it("holds the start of a long file and counts the rest, in UTF-16 units, whatever the chunks", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-summary-"));
    try {
      const line = "build log line ✓ 🚀\n";
      const given = line.repeat(200_000); // about 4 MiB
      await writeFile(join(dir, "log.txt"), given);
      const { text, unread } = readSummaryFile(join(dir, "log.txt"));
      expect(text.length).toBe(4 * MAX_MERGE_SUMMARY);
      expect(given.startsWith(text)).toBe(true);
      expect(text.length + unread).toBe(given.length);
      await writeFile(
        join(dir, "short.txt"),
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, "utf16le")]),
      );
      expect(readSummaryFile(join(dir, "short.txt"))).toEqual({ text: TEXT, unread: 0 });
      await writeFile(join(dir, "nul.txt"), `${"x".repeat(300_000)}\u0000`);
      expect(() => readSummaryFile(join(dir, "nul.txt"))).toThrow(/got one at character 300001: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses an endless input of NULs at once (/dev/zero), not after reading it all", () => {
    expect(() => readSummaryFile("/dev/zero")).toThrow(
      /^--summary-file "\/dev\/zero" may not contain NUL characters \(U\+0000\), got one at character 1: /,
    );
  });
});

describe("finalize --summary-file -", () => {
  const epic = useEpicDirs();

  it("reads the merge summary from standard input, as gh's --body-file - does", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
    const running = spawnCli(["finalize", "--summary-file", "-", "--dir", dir]);
    running.child.stdin.end(Buffer.from(`merged from a pipe ${TEXT}`, "utf8"));
    const finalized = await running.done;
    expect(finalized.stderr).toBe("");
    expect(finalized.code).toBe(0);
    const status = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout);
    expect(status.completedAt).not.toBeNull();
    const body = (await runCli(["status", "--markdown", "--dir", dir])).stdout;
    expect(body).toContain("### Merge Results\n\nmerged from a pipe merged ✓ 🚀\nall green\n");
  });
});

describe("finalize --summary-file of more than the run keeps", () => {
  const epic = useEpicDirs();

  // 1,000,004: more than the call holds (readSummaryFile), the rest counted as read.
  it.each([100_004, 1_000_004])(
    "the final summary's note counts every character left out of a file of %d, those the run did not keep included",
    async (size) => {
      const dir = await epic();
      expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
      const given = "s".repeat(size); // kept as 65,536 characters (see keptMergeSummary)
      await writeFile(join(dir, "summary.md"), given);
      expect((await runCli(["finalize", "--summary-file", join(dir, "summary.md"), "--dir", dir])).code).toBe(
        0,
      );
      const body = (await runCli(["status", "--markdown", "--dir", dir])).stdout;
      const shown = /### Merge Results\n\n(s+)\n\n\*… truncated \((\d+) more characters\)\*/.exec(body);
      expect(shown, body.slice(0, 2000)).not.toBeNull();
      expect(shown![1]!.length + Number(shown![2])).toBe(given.length);
    },
  );
});
