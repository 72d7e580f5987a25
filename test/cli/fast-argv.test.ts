import { describe, expect, it } from "vitest";
import { parseFastArgv } from "../../src/cli/fast-argv.js";

describe("the commander-free reading of the frequent commands", () => {
  it("reads well-formed calls, long options with a space or =, and the common flags", () => {
    expect(
      parseFastArgv(["update", "backend", "--status", "in_progress", "--files=3/7", "--dir", "/e", "-q"]),
    ).toEqual({
      command: "update",
      positionals: ["backend"],
      values: { status: "in_progress", files: "3/7", dir: "/e", quiet: "true" },
    });
    expect(
      parseFastArgv(["log", "a", "hello world", "--min-interval", "0", "--api-url", "http://x"]),
    ).toEqual({
      command: "log",
      positionals: ["a", "hello world"],
      values: { minInterval: "0", apiUrl: "http://x" },
    });
    expect(parseFastArgv(["fail", "a", "--error", "boom", "--verbose"])?.values).toEqual({
      error: "boom",
      verbose: "true",
    });
    expect(parseFastArgv(["__flush", "--dir", "/e"])?.command).toBe("__flush");
  });

  it("leaves everything else to the full program (help, unknown or repeated options, missing values)", () => {
    const full = [
      [],
      ["init", "--epic", "E", "--domains", "a"],
      ["status"],
      ["update", "a", "--status", "in_progress", "--help"],
      ["update", "a", "--status", "in_progress", "-h"],
      ["update", "a", "--files", "1/2"], // --status is required
      ["update", "a", "--status", "in_progress", "--bogus", "1"],
      ["update", "a", "--status", "in_progress", "--status", "failed"],
      ["update", "a", "--status"],
      ["update", "a", "--status", "--files", "1/2"],
      ["update", "--status", "in_progress"], // no agent
      ["update", "a", "b", "--status", "in_progress"], // one agent only
      ["fail", "a"], // --error is required
      ["log", "a"], // the message is required
      ["complete", "a", "--", "x"],
      ["complete", "a", "--summary=x", "--error", "y"], // --error belongs to fail
    ];
    for (const args of full) expect({ args, parsed: parseFastArgv(args) }).toEqual({ args, parsed: null });
  });
});
