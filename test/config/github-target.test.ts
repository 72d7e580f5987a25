import { describe, expect, it } from "vitest";
import { type GitHubOverrides, givenOverrides, overlayTarget } from "../../src/config/github-target.js";
import { createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

const taskFile = { mtimeMs: 1_000, size: 60 };

function run(overrides: Partial<RunState> = {}): RunState {
  return {
    ...createRun({ epicId: "E", domains: ["a"], now: 0, github, nonce: "abcd" }),
    ...overrides,
  };
}

describe("overlayTarget: a later command's settings, inside its transaction", () => {
  it("no flags and task.md unchanged: nothing changes (null)", () => {
    expect(overlayTarget(run(), taskFile, taskFile, {}, {})).toBeNull();
  });

  it("flags only: the run's settings with the flags on top, nothing read", () => {
    const made = overlayTarget(
      run(),
      taskFile,
      taskFile,
      { minIntervalMs: 0, commentMode: "append", repo: "o/r" },
      {},
    );
    expect(made).toEqual({
      github: {
        ...github,
        minIntervalMs: 0,
        commentMode: "append",
        repo: "o/r",
        // Saved as given by a caller: task.md read later does not override them.
        given: ["commentMode", "minIntervalMs", "repo"],
      },
      taskFile,
    });
  });

  it("--api-url is resolved as at init; sync can be turned off but not on by a flag", () => {
    const made = overlayTarget(
      run(),
      taskFile,
      taskFile,
      { apiUrl: "https://ghe.example/api/v3/", syncEnabled: false },
      {},
    );
    expect(made).not.toBe("read");
    expect(made && made !== "read" ? made.github : null).toMatchObject({
      apiUrl: "https://ghe.example/api/v3",
      syncEnabled: false,
    });
  });

  it("task.md changed, appeared or went away since this machine read it: it must be read", () => {
    expect(overlayTarget(run(), { mtimeMs: 2_000, size: 60 }, taskFile, {}, {})).toBe("read");
    expect(overlayTarget(run(), { mtimeMs: 1_000, size: 61 }, taskFile, { issueNumber: 3 }, {})).toBe("read");
    expect(overlayTarget(run(), null, taskFile, {}, {})).toBe("read");
  });

  it("this machine never read task.md for the run: it must be read; with no task.md, nothing to read", () => {
    expect(overlayTarget(run(), taskFile, undefined, {}, {})).toBe("read");
    expect(overlayTarget(run(), null, undefined, {}, {})).toBeNull();
  });

  it("an issue given to a run without a repository: its repository must be found as init would", () => {
    const noRepo = run({ github: { ...github, issueNumber: null, repo: null } });
    expect(overlayTarget(noRepo, taskFile, taskFile, { issueNumber: 9 }, {})).toBe("read");
    expect(overlayTarget(noRepo, taskFile, taskFile, { issueNumber: 9, repo: "o/r" }, {})).toMatchObject({
      github: { issueNumber: 9, repo: "o/r" },
    });
  });
});

describe("givenOverrides: the GitHub settings a caller gave, from one declaration", () => {
  it("the CLI's options by commander's names become the settings; other options and unset ones are left out", () => {
    const flags = {
      dir: ".",
      quiet: true,
      issue: 3,
      minInterval: 0,
      commentMode: "append" as const,
    };
    expect(givenOverrides(flags, "flag")).toEqual({
      issueNumber: 3,
      minIntervalMs: 0,
      commentMode: "append",
    });
  });

  it("a library caller's settings: unknown keys and undefined values are left out of the run's settings", () => {
    // What a JavaScript caller may pass.
    const options = {
      apiUrl: "https://ghe.example/api/v3",
      issueNumber: undefined,
      color: "red",
    } as unknown as GitHubOverrides;
    expect(givenOverrides(options, "setting")).toEqual({ apiUrl: "https://ghe.example/api/v3" });
    const made = overlayTarget(run(), taskFile, taskFile, options, {});
    expect(made && made !== "read" ? made.github : null).toEqual({
      ...github,
      apiUrl: "https://ghe.example/api/v3",
    });
  });
});
