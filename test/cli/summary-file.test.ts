import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeText } from "../../src/cli/summary-file.js";
import { runCli, spawnCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";

/** `finalize --summary-file` reads UTF-8, or UTF-16 with a byte order mark (as PowerShell writes it). */

const TEXT = "merged ✓ 🚀\nall green\n";

describe("decodeText", () => {
  it.each([
    ["UTF-8", Buffer.from(TEXT, "utf8")],
    ["UTF-8 with a BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT, "utf8")])],
    ["UTF-16 LE with a BOM", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, "utf16le")])],
    [
      "UTF-16 BE with a BOM",
      Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(TEXT, "utf16le").swap16()]),
    ],
  ])("reads %s, without the mark", (_name, bytes) => {
    expect(decodeText(bytes)).toBe(TEXT);
  });

  it("leaves UTF-16 without a mark as UTF-8 would read it: with NULs, which finalize refuses", () => {
    expect(decodeText(Buffer.from("ab", "utf16le"))).toBe("a\u0000b\u0000");
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

  it("the final summary's note counts every character left out of the file, those the run did not keep included", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
    const given = "s".repeat(100_004); // kept as 65,536 characters (see keptMergeSummary)
    await writeFile(join(dir, "summary.md"), given);
    expect((await runCli(["finalize", "--summary-file", join(dir, "summary.md"), "--dir", dir])).code).toBe(
      0,
    );
    const body = (await runCli(["status", "--markdown", "--dir", dir])).stdout;
    const shown = /### Merge Results\n\n(s+)\n\n\*… truncated \((\d+) more characters\)\*/.exec(body);
    expect(shown, body.slice(0, 2000)).not.toBeNull();
    expect(shown![1]!.length + Number(shown![2])).toBe(given.length);
  });
});
