import { describe, it } from "vitest";
import { useFakeGitHub } from "../support/harness.js";
import { TOKEN, wholeRun } from "../support/leak-run.js";

/**
 * Issue #4, "Secrets": the token never shows up in stdout, stderr, any file under the epic directory,
 * a background writer's command line, or what reaches GitHub outside the Authorization header (the
 * fake's request log: method, path with query, status, login), whatever path a run takes — healthy,
 * 401, 5xx, dropped connections, queued and retried — with GITHUB_TOKEN or GH_TOKEN.
 */

const fakeGitHub = useFakeGitHub(TOKEN);

describe("the token never leaks", () => {
  it("with GITHUB_TOKEN, through healthy, 401, 5xx, dropped, queued and retried paths (--verbose)", async () => {
    await wholeRun(fakeGitHub, "GITHUB_TOKEN");
  }, 60_000);

  it("with GH_TOKEN instead of GITHUB_TOKEN, through healthy, 401 and wrong-token paths", async () => {
    await wholeRun(fakeGitHub, "GH_TOKEN", "auth");
  }, 60_000);
});
