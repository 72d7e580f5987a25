import { afterEach, type TestContext } from "vitest";
import { type CliResult, makeEpic, runCli, stopFlushers, taskMd } from "./cli.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./fake-github/index.js";

export interface Harness {
  gh: FakeGitHub;
  dir: string;
  /** GITHUB_TOKEN and GITHUB_API_URL for the fake. */
  env: Record<string, string>;
  /** Runs the CLI in this epic directory with `env`. */
  cli: (...args: string[]) => Promise<CliResult>;
}

/**
 * A fake GitHub on loopback and an epic directory per test, torn down after each test (background
 * writers of the directory first, then the server, then the files). Call at the top of a test file.
 * A test that runs concurrently with others (`it.concurrent`) passes its context as `test`: its set-up is
 * torn down when that test finishes (`onTestFinished`), not by the `afterEach` of a test beside it.
 */
export function useFakeGitHub(token: string, login = "octo-bot") {
  type Open = { gh: FakeGitHub; dir: string; cleanup: () => Promise<void> };
  const tearDown = async ({ gh, dir, cleanup }: Open) => {
    await stopFlushers(dir);
    await gh.close();
    await cleanup();
  };
  const open: Open[] = [];
  afterEach(async () => {
    for (const entry of open.splice(0)) await tearDown(entry);
  });
  /** `task`: task.md text (default: issue 123 on acme/widgets); null for no task.md. */
  return async (
    options: {
      task?: string | null;
      fake?: FakeGitHubOptions;
      test?: Pick<TestContext, "onTestFinished">;
    } = {},
  ): Promise<Harness> => {
    const gh = await startFakeGitHub({ tokens: { [token]: login }, ...options.fake });
    const epic = await makeEpic(options.task === undefined ? taskMd(123) : (options.task ?? undefined));
    const entry = { gh, ...epic };
    if (options.test) options.test.onTestFinished(() => tearDown(entry));
    else open.push(entry);
    const env = { GITHUB_TOKEN: token, GITHUB_API_URL: gh.url };
    const cli = (...args: string[]) => runCli([...args, "--dir", epic.dir], { env });
    return { gh, dir: epic.dir, env, cli };
  };
}
