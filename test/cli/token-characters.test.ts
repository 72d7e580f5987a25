import { describe, expect, it } from "vitest";
import { allFileText, queueFiles, runCli } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

/**
 * A token that cannot be sent in an HTTP header (a character outside visible ASCII, a space, a control
 * character: a copy-paste gone wrong) is a bad token, not a network failure: one warning naming the
 * variable, never the token, the post queued, exit 0, and no request tried (so none retried).
 */

const TOKEN = "ghp_goodtoken0123456789abcdefghijklmnopqr";
const fakeGitHub = useFakeGitHub(TOKEN);

describe("a token with characters a token cannot hold", () => {
  it.each([
    ["GITHUB_TOKEN", "sécret…0123456789"],
    ["GH_TOKEN", "ghp_two words"],
    ["GITHUB_TOKEN", "ghp_bell\u0007ring"],
  ])(
    "%s=%j: warned about like a bad token, queued, no request",
    async (variable, token) => {
      const { gh, dir, env } = await fakeGitHub();
      const init = await runCli(
        ["init", "--epic", "E", "--domains", "a,b", "--min-interval", "0", "--dir", dir],
        {
          env,
        },
      );
      expect(init.code, init.stderr).toBe(0);
      const before = gh.requests.length;

      const bad = { GITHUB_API_URL: env.GITHUB_API_URL, [variable]: token };
      const update = await runCli(
        ["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir],
        {
          env: bad,
        },
      );
      expect(update.code, update.stderr).toBe(0);
      const warnings = update.stderr.trim().split("\n");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        new RegExp(
          `^parallel-progress: warning: GitHub: .*${variable} holds .*characters? a token cannot.*queued as comment_`,
        ),
      );
      expect(update.stderr).not.toMatch(/connection|network|EUNKNOWN/i);
      expect(update.stderr + update.stdout).not.toContain(token);
      expect(await allFileText(dir)).not.toContain(token);
      expect(await queueFiles(dir)).toHaveLength(1);
      expect(gh.requests.length).toBe(before);
    },
    30_000,
  );
});
