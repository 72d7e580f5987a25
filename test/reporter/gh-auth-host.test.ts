import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { reporterClient, runApiElsewhere } from "../../src/reporter/client.js";

/**
 * Without GITHUB_TOKEN or GH_TOKEN the token comes from `gh auth token`, which, not told the host, answers
 * for gh's default host: GH_HOST, or the only host gh is logged in to (a GitHub Enterprise Server's).
 * That token must not be sent to api.github.com: gh is always asked for the API's own host.
 */
describe("the token from gh auth token", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ["https://api.github.com", "github.com"],
    ["https://ghe.example.com/api/v3", "ghe.example.com"],
    ["https://api.acme.ghe.com", "acme.ghe.com"],
  ])("is asked for the host of %s (%s), in the reporter's environment", async (apiUrl, host) => {
    dir = await mkdtemp(join(tmpdir(), "pp-gh-"));
    const gh = join(dir, "gh");
    // A gh that writes down how it was asked, and answers with a token.
    await writeFile(gh, '#!/bin/sh\necho "$@" >> "$GH_ARGS_FILE"\necho gho_0123456789abcdefghijklmnop\n');
    await chmod(gh, 0o755);
    // The reporter's environment (not this process's): gh is found on its PATH and reads its variables.
    const env = { PATH: `${dir}${delimiter}${process.env.PATH ?? ""}`, GH_ARGS_FILE: join(dir, "args") };
    const clock = { now: () => Date.now() };
    await reporterClient({ github: { apiUrl } }, env, clock, () => [])(apiUrl);
    expect((await readFile(join(dir, "args"), "utf8")).trim()).toBe(`auth token --hostname ${host}`);
  });
});

describe("the environment's token and the run's API", () => {
  it("goes only to the API the call is configured with, not to one the file store's state names", async () => {
    const env = { GITHUB_TOKEN: "ghp_0123456789abcdefghijklmnopqrstuvwxyz" };
    const clock = { now: () => Date.now() };
    // A state file planted in the epic folder (a checkout, a shared folder) naming another host.
    const planted = reporterClient({}, env, clock, () => [])("https://collector.example/api");
    await expect(planted).rejects.toMatchObject({
      name: "GitHubError",
      kind: "auth",
      message: expect.stringMatching(
        /^the run posts to https:\/\/collector\.example\/api, but this call's GitHub API is https:\/\/api\.github\.com .*: the token is not sent to another/,
      ),
    });
    // A library caller's factory is not handed the planted URL either (it would make a client for it).
    const asked: string[] = [];
    const factory = async (url: string) => {
      asked.push(url);
      return null;
    };
    await expect(
      reporterClient({ client: factory }, env, clock, () => [])("https://collector.example/api"),
    ).rejects.toMatchObject({ kind: "auth", local: true });
    expect(asked).toEqual([]);
    // A database store's run keeps the API given at init for every machine (the contract's "Many machines").
    const shared = reporterClient(
      {},
      env,
      clock,
      () => [],
      (apiUrl) => runApiElsewhere({}, env, apiUrl, true, () => []),
    );
    await expect(shared("https://ghe.example.com/api/v3")).resolves.toBeDefined();
    // ... for a call that configured no API of its own: one that did sends its token only there (any role
    // granted the run's repository can set the stored API with plain SQL).
    const github = { GITHUB_API_URL: "https://api.github.com", ...env };
    expect(runApiElsewhere({}, github, "https://ghe.example.com/api/v3", true, () => [])).toMatch(
      /^the run posts to https:\/\/ghe\.example\.com\/api\/v3, but this call's GitHub API is https:\/\/api\.github\.com /,
    );
    const option = { github: { apiUrl: "https://api.github.com" } };
    expect(runApiElsewhere(option, env, "https://ghe.example.com/api/v3", true, () => [])).toMatch(
      /the token is not sent to another/,
    );
    expect(runApiElsewhere({}, github, "https://api.github.com", true, () => [])).toBeNull();
    const configured = { GITHUB_API_URL: "https://ghe.example.com/api/v3", ...env };
    await expect(
      reporterClient({}, configured, clock, () => [])("https://ghe.example.com/api/v3"),
    ).resolves.toBeDefined();
  });
});
