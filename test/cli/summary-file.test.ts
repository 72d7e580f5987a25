import { describe, expect, it } from "vitest";
import { decodeText } from "../../src/cli/summary-file.js";

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
