import { afterEach } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { createParallelReporter, type ReporterOptions } from "../../src/reporter.js";
import { makeEpic, taskMd } from "./cli.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./fake-github/index.js";

const TOKEN = "in-process-token";

/**
 * A fake GitHub on loopback, a temporary epic directory and reporters working in it in this process,
 * with an injected clock: `advance(ms)` moves it, and the reporters' sleeps move it too (a wait for a
 * write to fall due costs no real time). Requests go over real HTTP through the real client.
 */
export function useInProcess() {
  const open: { gh: FakeGitHub; cleanup: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const { gh, cleanup } of open.splice(0)) {
      await gh.close();
      await cleanup();
    }
  });
  return async (options: { task?: string; fake?: FakeGitHubOptions } = {}) => {
    const gh = await startFakeGitHub({ tokens: { [TOKEN]: "octo-bot" }, ...options.fake });
    const epic = await makeEpic(options.task ?? taskMd(123));
    open.push({ gh, cleanup: epic.cleanup });
    let now = Date.parse("2025-10-19T16:30:00Z");
    const clock = { now: () => now };
    const warnings: string[] = [];
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: gh.url };
    const make = (extra: ReporterOptions = {}) =>
      createParallelReporter(epic.dir, {
        clock,
        env,
        sleep: async (ms) => {
          now += ms;
        },
        onWarning: (message) => warnings.push(message),
        ...extra,
      });
    /** The seq of each comment of the run's kind on issue 123, oldest first. */
    const seqs = (kind: "progress" | "final" = "progress") =>
      gh
        .comments("acme/widgets", 123)
        .map((comment) => parseMarker(comment.body))
        .filter((marker) => marker?.kind === kind)
        .map((marker) => marker!.seq);
    return {
      gh,
      dir: epic.dir,
      env,
      clock,
      warnings,
      make,
      seqs,
      advance: (ms: number) => {
        now += ms;
      },
    };
  };
}
