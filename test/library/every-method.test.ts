import type { EventEmitter } from "node:events";
import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import {
  createParallelReporter,
  type ParallelProgressReporter,
  type ReporterOptions,
} from "../../src/reporter.js";
import { MemoryClient } from "../support/memory-client.js";

/** What holds for every public method of the reporter: a closed reporter and bad options reject each. */

type Own = Exclude<keyof ParallelProgressReporter, keyof EventEmitter>;
/** The reporter's public methods (its getters and EventEmitter's methods aside). */
type Method = {
  [K in Own]: ParallelProgressReporter[K] extends (...args: never[]) => unknown ? K : never;
}[Own];

/**
 * One valid call of each method but close(): a method added to the reporter must be added here. (Not
 * applyingKeptChange either: it only marks the next agent change, which these checks then refuse.)
 */
const CALLS: Record<
  Exclude<Method, "close" | "applyingKeptChange">,
  (r: ParallelProgressReporter) => Promise<unknown>
> = {
  initializeParallelTracking: (r) => r.initializeParallelTracking("E", ["a", "b"]),
  addAgents: (r) => r.addAgents(["c"]),
  updateAgentProgress: (r) => r.updateAgentProgress("a", "in_progress", 1, 2),
  markAgentComplete: (r) => r.markAgentComplete("a"),
  markAgentFailed: (r) => r.markAgentFailed("a", "boom"),
  cancelAgent: (r) => r.cancelAgent("a"),
  logAgentEvent: (r) => r.logAgentEvent("a", "note"),
  finalizeParallelExecution: (r) => r.finalizeParallelExecution("merged"),
  retryOfflineQueue: (r) => r.retryOfflineQueue(),
  retryReport: (r) => r.retryReport({ dryRun: true }),
  status: (r) => r.status(),
  load: (r) => r.load(),
  flush: (r) => r.flush(),
  runBackgroundWriter: (r) => r.runBackgroundWriter(),
};
const METHODS = Object.entries(CALLS);

function setup(options: Partial<ReporterOptions> = {}) {
  const fs = createFsFromVolume(new Volume());
  fs.mkdirSync("/epic", { recursive: true });
  const reporter = createParallelReporter("/epic", {
    fs,
    env: {},
    clock: { now: () => Date.parse("2025-10-19T16:30:00Z") },
    ...options,
  });
  return { fs, reporter };
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe("a closed reporter", () => {
  it.each(METHODS)("%s rejects with UsageError naming the method", async (method, call) => {
    const { fs, reporter } = setup();
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    await reporter.close();
    const files = JSON.stringify(fs.readdirSync("/epic", { recursive: true }));
    const error = await rejection(call(reporter));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`${method}: this reporter was closed: create a new one`);
    expect(JSON.stringify(fs.readdirSync("/epic", { recursive: true }))).toBe(files);
  });

  it("can be closed again (close is idempotent)", async () => {
    const { reporter } = setup();
    await reporter.close();
    await expect(reporter.close()).resolves.toBeUndefined();
  });
});

describe("options given to the constructor", () => {
  const BAD: [string, Partial<ReporterOptions>, string][] = [
    [
      "an issue number that is text",
      // biome-ignore lint/suspicious/noExplicitAny: the point is what TypeScript forbids
      { github: { issueNumber: "5" as any } },
      'createParallelReporter: options.github.issueNumber must be a number, got "5"',
    ],
    [
      "a warning listener that is a number",
      // biome-ignore lint/suspicious/noExplicitAny: the point is what TypeScript forbids
      { onWarning: 5 as any },
      "createParallelReporter: options.onWarning must be a function, got 5",
    ],
  ];

  for (const [what, options, message] of BAD) {
    it.each(METHODS)(`${what}: rejected by %s as the first call, and by the next`, async (_, call) => {
      const { fs, reporter } = setup(options);
      const error = await rejection(call(reporter));
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(message);
      await expect(reporter.status()).rejects.toThrow(new UsageError(message));
      expect(fs.readdirSync("/epic")).toEqual([]);
    });
  }

  it("close() releases the reporter whatever its options", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the point is what TypeScript forbids
    const { reporter } = setup({ github: { issueNumber: "5" as any } });
    await expect(reporter.close()).resolves.toBeUndefined();
  });
});

describe("close() while calls are under way", () => {
  // Each call is made, then close() at once, before the call has loaded its argument checks: the call
  // was made before close() and is done; close() resolves once it has settled. (It was refused as if made
  // after close(), "this reporter was closed", while a call that had got further ran on past it.)
  it.each(METHODS)("%s made just before close() is done, and close() waits for it", async (method, call) => {
    const { reporter } = setup();
    if (method !== "initializeParallelTracking") await reporter.initializeParallelTracking("E", ["a", "b"]);
    let settled = false;
    const made = call(reporter).finally(() => {
      settled = true;
    });
    await reporter.close();
    expect(settled).toBe(true);
    await made;
  });

  it("a second close() resolves only once the first one's work is done", async () => {
    const { fs, reporter } = setup({
      clock: { now: () => Date.now() },
      client: new MemoryClient(),
      github: { issueNumber: 5, repo: "o/r", minIntervalMs: 60_000 },
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    // Not due for a minute: nothing writes it; close() queues it for retry.
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    const first = reporter.close();
    await reporter.close();
    expect(
      fs.readdirSync("/epic/.github_parallel_queue").filter((n) => String(n).endsWith(".json")),
    ).toHaveLength(1);
    await first;
  });
});

describe("a refusal the run itself makes", () => {
  // Named by the method that met it, as the argument checks' are (it named only the run).
  const UNKNOWN: [string, (r: ParallelProgressReporter) => Promise<unknown>][] = [
    ["updateAgentProgress", (r) => r.updateAgentProgress("nope", "in_progress", 1, 2)],
    ["markAgentComplete", (r) => r.markAgentComplete("nope")],
    ["markAgentFailed", (r) => r.markAgentFailed("nope", "boom")],
    ["cancelAgent", (r) => r.cancelAgent("nope")],
    ["logAgentEvent", (r) => r.logAgentEvent("nope", "note")],
    ["addAgents", (r) => r.addAgents(["c"], { parent: "nope" })],
  ];

  it.each(UNKNOWN)("%s names itself in an unknown agent's refusal, its stack too", async (method, call) => {
    const { reporter } = setup();
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    const error = (await rejection(call(reporter))) as Error;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(
      new RegExp(`^${method}: unknown agent "nope": expected an agent id or domain`),
    );
    expect(error.stack).toContain(`UsageError: ${error.message}`);
  });

  it("keeps the stack's first line the message, whatever the value holds ($& and the like)", async () => {
    const { reporter } = setup();
    await reporter.initializeParallelTracking("E", ["a"]);
    for (const agent of ["$`", "$&", "$'", "$$x"]) {
      const error = (await rejection(reporter.updateAgentProgress(agent, "in_progress", 1, 2))) as Error;
      expect(error.stack?.split("\n")[0]).toBe(`UsageError: ${error.message}`);
      expect(error.message).toContain(`unknown agent "${agent}"`);
    }
  });

  it("leaves a caller's listener's UsageError as it threw it, at every call that throws it", async () => {
    const { reporter } = setup();
    await reporter.initializeParallelTracking("E", ["a"]);
    const shared = new UsageError("my listener refused this");
    reporter.on("change", () => {
      throw shared;
    });
    await expect(reporter.logAgentEvent("a", "note")).rejects.toThrow(/^my listener refused this$/);
    await expect(reporter.updateAgentProgress("a", "in_progress", 1, 2)).rejects.toThrow(
      /^my listener refused this$/,
    );
  });

  it("names the method once, and leaves the options' refusal to the constructor's name", async () => {
    const { reporter } = setup();
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.markAgentComplete("a");
    await reporter.finalizeParallelExecution();
    await expect(reporter.updateAgentProgress("a", "in_progress", 1, 2)).rejects.toThrow(
      /^updateAgentProgress: run E-\S+ was finalized at /,
    );
    await expect(reporter.updateAgentProgress("a", "on_hold" as never)).rejects.toThrow(
      /^updateAgentProgress: status must be one of/,
    );
    // biome-ignore lint/suspicious/noExplicitAny: the point is what TypeScript forbids
    const bad = setup({ github: { issueNumber: "5" as any } }).reporter;
    await expect(bad.status()).rejects.toThrow(/^createParallelReporter: options\.github\.issueNumber/);
  });
});

describe("a clock that gives no time", () => {
  // It surfaced as a RangeError ("Invalid time value") from deep inside.
  it.each([Number.NaN, "16:30", 1e20])(
    "now() giving %s: each call rejects with UsageError naming it",
    async (now) => {
      const { fs, reporter } = setup({ clock: { now: () => now as number } });
      const error = (await rejection(reporter.initializeParallelTracking("E", ["a"]))) as Error;
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toMatch(
        /^createParallelReporter: options\.clock\.now\(\) must return epoch milliseconds, got /,
      );
      expect(
        fs.readdirSync("/epic", { recursive: true }).filter((name) => String(name).endsWith(".json")),
      ).toEqual([]);
      await reporter.close();
    },
  );
});
