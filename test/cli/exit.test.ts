import { describe, expect, it, vi } from "vitest";
import { reportFailure } from "../../src/cli/exit.js";
import { LockTimeoutError } from "../../src/errors.js";

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

  it("says a lock held too long in one line, exit 1, as the machine's trouble (not the database's)", () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const error = new LockTimeoutError("could not lock /e/.parallel-progress/state.lock within 15000 ms");
    expect(reportFailure(error)).toBe(1);
    expect(written).toEqual([
      "parallel-progress: error: could not lock /e/.parallel-progress/state.lock within 15000 ms\n",
    ]);
  });
});
