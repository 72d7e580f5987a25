import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeBlock, escapeCell } from "../../src/render/escape.js";
import { finalMarker, parseMarker, progressMarker } from "../../src/render/marker.js";

describe("markers", () => {
  it("writes our exact format", () => {
    expect(progressMarker("EPIC-007-20251019T163000Z-ab12", 12)).toBe(
      "<!-- parallel-progress:progress run=EPIC-007-20251019T163000Z-ab12 seq=12 -->",
    );
    expect(finalMarker("r.1_x")).toBe("<!-- parallel-progress:final run=r.1_x -->");
    expect(progressMarker("r.1_x", 3, "history")).toBe("<!-- parallel-progress:history run=r.1_x seq=3 -->");
  });

  it("refuses run ids and sequence numbers it could not read back", () => {
    expect(() => progressMarker("a b", 1)).toThrow(/run id/);
    expect(() => finalMarker("x".repeat(101))).toThrow(/run id/);
    expect(() => progressMarker("ok", -1)).toThrow(/seq/);
    expect(() => progressMarker("ok", 1.5)).toThrow(/seq/);
  });

  it("reads back what it writes", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9._-]{1,100}$/),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        (runId, seq) => {
          expect(parseMarker(`text\n\n${progressMarker(runId, seq)}`)).toEqual({
            kind: "progress",
            runId,
            seq,
          });
          expect(parseMarker(`text\n\n${progressMarker(runId, seq, "history")}`)).toEqual({
            kind: "history",
            runId,
            seq,
          });
          expect(parseMarker(`text\n\n${finalMarker(runId)}\r\n`)).toEqual({
            kind: "final",
            runId,
            seq: null,
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reads the marker only as the body's last line", () => {
    const body = `${progressMarker("a", 1)}\nmiddle\n${progressMarker("b", 2)}`;
    expect(parseMarker(body)).toEqual({ kind: "progress", runId: "b", seq: 2 });
    expect(parseMarker(`${body} \r\n\n  \n`)).toEqual({ kind: "progress", runId: "b", seq: 2 });
    // Someone's comment quoting one of ours (`status --markdown`'s output) with text of its own after it.
    for (const marker of [progressMarker("b", 2), progressMarker("b", 2, "history"), finalMarker("b")]) {
      expect(parseMarker(`Review:\n\n${marker}\n\nIMPORTANT REVIEW TEXT`)).toBeNull();
      expect(parseMarker(`${marker}\nend`)).toBeNull();
    }
  });

  it.each([
    "",
    "no marker",
    "<!-- parallel-progress:progress run=a -->",
    "<!-- parallel-progress:final run=a seq=1 -->",
    "<!-- parallel-progress:progress run=a seq=01 -->",
    "<!-- parallel-progress:progress run=a seq=99999999999999999 -->",
    "<!-- parallel-progress:progress run=a b seq=1 -->",
    "<!-- parallel-progress:other run=a -->",
    "<!--parallel-progress:final run=a-->",
    " <!-- parallel-progress:final run=a -->",
    "> <!-- parallel-progress:final run=a -->",
    "x <!-- parallel-progress:final run=a -->",
    `<!-- parallel-progress:final run=${"x".repeat(101)} -->`,
  ])("ignores %j", (body) => {
    expect(parseMarker(body)).toBeNull();
  });

  it("cannot be forged through escaped agent text", () => {
    const forged = [progressMarker("victim", 999), finalMarker("victim")];
    fc.assert(
      fc.property(fc.string(), fc.constantFrom(...forged), fc.string(), (before, marker, after) => {
        const text = `${before}\n${marker}\n${after}`;
        expect(parseMarker(escapeCell(text))).toBeNull();
        expect(parseMarker(escapeBlock(text, 10_000))).toBeNull();
        expect(escapeBlock(text, 10_000)).not.toContain("<!--");
      }),
      { numRuns: 200 },
    );
  });
});
