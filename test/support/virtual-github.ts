import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach } from "vitest";
import type { GitHubOverrides } from "../../src/config/github-target.js";
import { createOctokitClient } from "../../src/github/octokit-client.js";
import { parseMarker } from "../../src/render/marker.js";
import { createParallelReporter, type ParallelProgressReporter } from "../../src/reporter.js";
import type { Clock } from "../../src/util/io.js";
import { makeEpic, taskMd } from "./cli.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./fake-github/index.js";

/**
 * Simulated time shared by the reporters, their Octokit clients and the fake GitHub: a sleep moves the
 * clock forward at once, so back-offs, write spacing and lease expiries cost no wall time.
 */
export interface VirtualTime {
  clock: Clock;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Moves the clock forward (time passing between two commands). */
  advance: (ms: number) => void;
}

export function virtualTime(start = Date.parse("2026-01-05T09:00:00Z")): VirtualTime {
  let now = start;
  return {
    clock: { now: () => now },
    async sleep(ms) {
      now += Math.max(0, ms);
      // One turn of the event loop, so other "processes" and the server run in between.
      await nextTurn();
    },
    advance(ms) {
      now += ms;
    },
  };
}

export interface InProcessRun {
  gh: FakeGitHub;
  dir: string;
  time: VirtualTime;
  /** Every warning any reporter gave (what the CLI prints as `warning: …`). */
  warnings: string[];
  /**
   * A new reporter on the epic directory: one CLI process's worth (its own lease owner), with the real
   * file store, the Octokit client against the fake (with `token`); background writers as `background` says.
   */
  reporter: (options?: { token?: string; github?: GitHubOverrides }) => ParallelProgressReporter;
  /**
   * Runs the held background writers (the CLI's `__flush` processes) until none is asked for, and waits for the
   * "timer" ones of every reporter made so far.
   */
  settle: () => Promise<void>;
  /** Background writers asked for and not run yet (`background: "held"`, the default). */
  held: () => number;
  /** The seq of each comment of `kind` on acme/widgets#123 (taskMd's issue), oldest first. */
  seqs: (kind?: "progress" | "history" | "final") => (number | null)[];
}

/**
 * The convergence scenarios' harness: the fake GitHub in this process on the virtual clock, an epic
 * directory per test, and reporters instead of CLI processes. Torn down after each test.
 */
export function useInProcessGitHub(token = "in-process-token", login = "octo-bot") {
  const open: { gh: FakeGitHub; settle: () => Promise<void>; cleanup: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const { gh, settle, cleanup } of open.splice(0)) {
      await settle().catch(() => {});
      await gh.close();
      await cleanup();
    }
  });
  /**
   * `requestTimeoutMs`: the client's limit for one HTTP exchange (real time: the fake's sockets are real).
   * `background`: "held" (the default) keeps the background writers a command asks for until `settle()`
   * runs them, one at a time, as a detached writer that has not started yet: only one thing sleeps at a
   * time, so no writer moves the clock under another command (past its lease or its time budget). "timer"
   * runs them at once in the reporter that asks, concurrently with the test's next command.
   * `start`: the clock's first value (agent ids hold the run's start time).
   */
  return async (
    options: {
      task?: string;
      fake?: FakeGitHubOptions;
      requestTimeoutMs?: number;
      background?: "timer" | "held";
      start?: number;
    } = {},
  ): Promise<InProcessRun> => {
    const time = virtualTime(options.start);
    const gh = await startFakeGitHub({ tokens: { [token]: login }, clock: time.clock.now, ...options.fake });
    const epic = await makeEpic(options.task ?? taskMd(123));
    const warnings: string[] = [];
    const made: ParallelProgressReporter[] = [];
    let held = 0;
    // Bounded passes: a writer may ask for another (a retry after a flush, say).
    const settle = async () => {
      for (let pass = 0; pass < 5; pass++) {
        for (const reporter of made) await reporter.flush();
        if (held === 0) continue;
        held = 0;
        await reporter().runBackgroundWriter();
      }
    };
    open.push({ gh, settle, cleanup: epic.cleanup });
    function reporter(opts: { token?: string; github?: GitHubOverrides } = {}): ParallelProgressReporter {
      const created = createParallelReporter(epic.dir, {
        env: { GITHUB_API_URL: gh.url },
        clock: time.clock,
        sleep: time.sleep,
        flusher:
          options.background !== "timer"
            ? () => {
                held++;
              }
            : "timer",
        onWarning: (message) => warnings.push(message),
        ...(opts.github ? { github: opts.github } : {}),
        client: async (apiUrl) =>
          createOctokitClient({
            token: opts.token ?? token,
            apiUrl,
            clock: time.clock,
            sleep: time.sleep,
            ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
          }),
      });
      made.push(created);
      return created;
    }
    const seqs = (kind: "progress" | "history" | "final" = "progress") =>
      gh
        .comments("acme/widgets", 123)
        .map((comment) => parseMarker(comment.body))
        .filter((marker) => marker?.kind === kind)
        .map((marker) => marker!.seq);
    return { gh, dir: epic.dir, time, warnings, reporter, settle, held: () => held, seqs };
  };
}
