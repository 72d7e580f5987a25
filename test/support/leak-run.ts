import { expect, type TestContext } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import {
  allFileText,
  type CliResult,
  flusherCommandLines,
  flusherPids,
  queueFiles,
  repeatUntil,
  runCli,
  taskMd,
  waitFor,
} from "./cli.js";
import type { FakeGitHub } from "./fake-github/index.js";
import type { useFakeGitHub } from "./harness.js";

/** The leak check of issue #4, "Secrets", shared by test/cli/secrets.test.ts and secrets-gh-token.test.ts. */

export const TOKEN = "ghp_S3cr3tT0kenForLeakTests0123456789abcd";
/** A token GitHub does not know (401). */
const WRONG_TOKEN = "ghp_Wr0ngT0kenNobodyKnows0123456789wxyz";

/** Every place a token could leak to, for one run. */
class LeakWatch {
  readonly outputs: string[] = [];
  readonly commandLines: string[] = [];

  constructor(
    readonly gh: FakeGitHub,
    readonly dir: string,
  ) {}

  async record(result: CliResult): Promise<CliResult> {
    this.outputs.push(result.stdout, result.stderr);
    this.commandLines.push(...(await flusherCommandLines(this.dir)));
    return result;
  }

  async expectNoLeak(...secrets: string[]): Promise<void> {
    expect(this.commandLines.length, "no background writer's command line was seen").toBeGreaterThan(0);
    const files = await allFileText(this.dir);
    const requests = JSON.stringify(this.gh.requests);
    for (const secret of secrets) {
      // The whole token, and any long piece of it (a truncated or partly redacted one is still a leak).
      const pieces = [secret, secret.slice(4, 20), secret.slice(-16)];
      for (const piece of pieces) {
        for (const [i, text] of this.outputs.entries())
          expect(text, `output #${i} leaks ${piece}`).not.toContain(piece);
        expect(files, `a file under the epic directory leaks ${piece}`).not.toContain(piece);
        expect(requests, `the request log leaks ${piece}`).not.toContain(piece);
        for (const line of this.commandLines)
          expect(line, "a background writer's command line").not.toContain(piece);
      }
    }
  }
}

function expectCode(result: CliResult, code: number): void {
  expect(result.code, result.stderr).toBe(code);
}

/**
 * A run through the paths a token could leak on, with the token in `tokenVariable`. `fakeGitHub`:
 * `useFakeGitHub(TOKEN)` of the calling test file (it tears the fake down after each test). `paths`:
 * "all" (healthy, 401, 5xx, dropped, queued, retried, finalized) or "auth" (healthy, 401, a wrong token,
 * retried): where the token came from is read once, at the edge (config/resolve.ts), so a second token
 * variable needs the paths that name it, not every path after that. `test`: the test's context, when it
 * runs concurrently with others (the fake and folder go when that test finishes).
 */
export async function wholeRun(
  fakeGitHub: ReturnType<typeof useFakeGitHub>,
  tokenVariable: "GITHUB_TOKEN" | "GH_TOKEN",
  paths: "all" | "auth" = "all",
  test?: Pick<TestContext, "onTestFinished">,
) {
  // Without the 1 s spacing between writes: the paths are the same without it, and most calls would wait a
  // second. In "all", background writers still start on each back-off; "auth" spaces its first update
  // (--min-interval 5000, saved in the run) so that it leaves the write to a background writer, then goes
  // back to 0. LeakWatch checks that a background writer was seen.
  const task = taskMd(123, "  min_interval_ms: 0\n");
  // 5 s, not 1: on a loaded machine the update may come a second after init's write, which would then be
  // due at once and made by the update itself, leaving no background writer to look at.
  const spaced = paths === "auth" ? ["--min-interval", "5000"] : [];
  const unspaced = paths === "auth" ? ["--min-interval", "0"] : [];
  const { gh, dir } = await fakeGitHub({ task, fake: { seed: 0x5ec }, ...(test ? { test } : {}) });
  const watch = new LeakWatch(gh, dir);
  const base = { GITHUB_API_URL: gh.url };
  const good = { ...base, [tokenVariable]: TOKEN };
  const run = async (env: Record<string, string>, ...args: string[]) =>
    watch.record(await runCli([...args, "--dir", dir, "--verbose"], { env, timeoutMs: 40_000 }));

  // Healthy.
  const init = await run(good, "init", "--epic", "EPIC-S", "--domains", "backend,frontend,tests");
  expect(init.code, init.stderr).toBe(0);
  expectCode(await run(good, "update", "backend", "--status", "in_progress", "--files", "1/4", ...spaced), 0);
  expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 20_000, 100)).toBe(true);

  // 401 for our own token (scripted), and a wrong token: both explained, queued.
  gh.setFaults({ script: [{ status: 401, times: 50 }] });
  const unauthorised = await run(
    good,
    "update",
    "frontend",
    "--status",
    "in_progress",
    "--files",
    "1/3",
    ...unspaced,
  );
  expectCode(unauthorised, 0);
  // That write may be left to the background writer (not due yet): `retry` meets the 401 itself.
  const rejected = await run(good, "retry");
  expectCode(rejected, 3);
  expect(rejected.stderr).toMatch(/GITHUB_TOKEN|GH_TOKEN/);
  gh.clearFaults();
  const wrong = await run({ ...base, [tokenVariable]: WRONG_TOKEN }, "retry");
  expectCode(wrong, 3);
  expect(wrong.stderr).toMatch(/GITHUB_TOKEN|GH_TOKEN/);
  expectCode(await run(good, "retry"), 0);
  if (paths === "auth") {
    expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 10_000, 100)).toBe(true);
    expect(watch.outputs.join("")).toMatch(/parallel-progress: GitHub: progress comment written/);
    await watch.expectNoLeak(TOKEN, WRONG_TOKEN);
    return;
  }

  // 5xx answers and dropped connections: retried, queued, the run backs off.
  gh.setFaults({ failureRate: 1 });
  expectCode(await run(good, "update", "tests", "--status", "in_progress", "--files", "2/2"), 0);
  expectCode(await run(good, "retry"), 3);
  gh.setFaults({ failureRate: 0, dropRate: 1 });
  expectCode(await run(good, "complete", "backend", "--summary", "done"), 0);
  expectCode(await run(good, "retry"), 3);
  expectCode(await run(good, "retry", "--dry-run"), 3);
  expect((await queueFiles(dir)).length).toBeGreaterThan(0);
  expectCode(await run(good, "status", "--json"), 0);
  expectCode(await run(good, "status", "--markdown"), 0);
  expectCode(await run(good, "status"), 0);
  expectCode(await run(good, "complete", "frontend"), 0);
  expectCode(await run(good, "complete", "tests"), 0);
  const downFinalize = await run(good, "finalize", "--summary", "merged");
  expectCode(downFinalize, 0);

  // Healthy again: retry delivers everything.
  gh.clearFaults();
  // A background writer may hold the run for a moment: retry until it has delivered (bounded).
  const retry = await repeatUntil(
    () => run(good, "retry"),
    (result) => result.code === 0,
  );
  expect(retry.code, retry.stderr).toBe(0);
  expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 10_000, 100)).toBe(true);
  expect(await queueFiles(dir)).toEqual([]);
  const kinds = gh.comments("acme/widgets", 123).map((c) => parseMarker(c.body)?.kind);
  expect(kinds.sort()).toEqual(["final", "progress"]);
  // --verbose really said what each call did on GitHub, so the leak check looked at that output too.
  expect(watch.outputs.join("")).toMatch(/parallel-progress: GitHub: progress comment written/);

  await watch.expectNoLeak(TOKEN, WRONG_TOKEN);
}
