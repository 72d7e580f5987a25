import { describe, it } from "vitest";
import { useFakeGitHub } from "../support/harness.js";
import { TOKEN, wholeRun } from "../support/leak-run.js";

/** The leak check of secrets.test.ts with GH_TOKEN (its own file, so the two run side by side). */

const fakeGitHub = useFakeGitHub(TOKEN);

describe("the token never leaks", () => {
  it("with GH_TOKEN instead of GITHUB_TOKEN", async () => {
    await wholeRun(fakeGitHub, "GH_TOKEN");
  }, 60_000);
});
