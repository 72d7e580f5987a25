import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queueFiles } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

/** Issue 11: what only the CLI's own process shows (its stderr line and exit code). */

const fakeGitHub = useFakeGitHub("ghp_defects0123456789abcdefghijklmnopqrst");

describe("retry during a long rate limit", () => {
  it("exits 3 with one line on stderr saying until when the posts stay queued", async () => {
    const { gh, cli, dir } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
    const reset = Math.floor(Date.now() / 1000) + 3600;
    gh.setFaults({
      script: [
        {
          status: 403,
          message: "API rate limit exceeded for user ID 1.",
          headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
          times: Number.POSITIVE_INFINITY,
        },
      ],
    });
    const update = await cli(
      "update",
      "a",
      "--status",
      "in_progress",
      "--files",
      "1/2",
      "--min-interval",
      "0",
    );
    expect(update.code).toBe(0);
    expect(await queueFiles(dir)).toHaveLength(1);
    const retry = await cli("retry");
    expect(retry.code).toBe(3);
    const until = new Date(reset * 1000).toISOString().replace(".000Z", "Z");
    expect(retry.stderr.trim().split("\n")).toEqual([
      `parallel-progress: warning: GitHub rate limit: 1 post(s) stay queued until ${until}; run \`parallel-progress retry\` after that`,
    ]);
  });
});

describe("another issue given to a later command", () => {
  it("is refused with exit 2 and one line naming both issues; the run is untouched", async () => {
    const { cli, dir } = await fakeGitHub({
      fake: {
        issues: [
          { repo: "acme/widgets", number: 123 },
          { repo: "acme/widgets", number: 65 },
        ],
      },
    });
    expect((await cli("init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
    const stateFile = join(dir, ".parallel-progress", "state.json");
    const before = await readFile(stateFile, "utf8");
    const update = await cli("update", "a", "--status", "in_progress", "--files", "1/2", "--issue", "65");
    expect(update.code).toBe(2);
    expect(update.stderr.trim().split("\n")).toHaveLength(1);
    expect(update.stderr).toMatch(
      /--issue names acme\/widgets#65, but run \S+ \(epic E\) posts to acme\/widgets#123/,
    );
    expect(await readFile(stateFile, "utf8")).toBe(before);
  });
});
