import { describe, expect, it, vi } from "vitest";
import { reportFailure } from "../../src/cli/exit.js";

describe("reportFailure", () => {
  it("prints a bug's error with its stack, and no password of a URL in it", () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const error = Object.assign(
      new Error("cannot use postgresql://u:Zq/@x?#Wx@h/db?password=Zq&Wx\nnor x://a:Zq@b"),
      {
        code: "XX000",
      },
    );
    expect(reportFailure(error)).toBe(1);
    expect(written.join("")).toMatch(
      /^parallel-progress: internal error \(please report it\): Error: cannot use postgresql:\/\/u:\*\*\*@h\/db\?password=\*\*\*\nnor x:\/\/a:\*\*\*@b\n\s+at /,
    );
    expect(written.join("")).not.toMatch(/Zq|Wx/);
  });
});
