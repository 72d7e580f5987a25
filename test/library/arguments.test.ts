import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { quote } from "../../src/config/show-value.js";
import { UsageError } from "../../src/errors.js";
import { createParallelReporter, type ParallelProgressReporter } from "../../src/reporter.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { createPostgresStore } from "../../src/store/open-store.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";

/** Issue 11, item 6: library arguments are checked at the API boundary and rejected with UsageError. */

function reporter(): ParallelProgressReporter {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  fs.mkdirSync("/epic", { recursive: true });
  return createParallelReporter("/epic", {
    fs,
    env: {},
    clock: { now: () => Date.parse("2025-10-19T16:30:00Z") },
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the point is calling the API with what TypeScript forbids
type Untyped = any;

describe("library arguments", () => {
  it.each<[string, (r: Untyped) => Promise<unknown>, string]>([
    [
      "domains as one string",
      (r) => r.initializeParallelTracking("E", "a,b"),
      'initializeParallelTracking: domains must be an array of strings, got "a,b"',
    ],
    [
      "an epic id that is a number",
      (r) => r.initializeParallelTracking(42, ["a"]),
      "initializeParallelTracking: epicId must be a string, got 42",
    ],
    [
      "a domain that is null",
      (r) => r.initializeParallelTracking("E", [null]),
      "initializeParallelTracking: domains[0] must be a string, got null",
    ],
    [
      "a stall time that is too short",
      (r) => r.initializeParallelTracking("E", ["a"], undefined, { stallAfterMs: 5 }),
      "initializeParallelTracking: options.stallAfterMs must be at least 1000, got 5",
    ],
    [
      "an agent that is an object",
      (r) => r.updateAgentProgress({}, "pending"),
      "updateAgentProgress: agentId must be a string, got {}",
    ],
    [
      "a status that does not exist",
      (r) => r.updateAgentProgress("a", "done"),
      'updateAgentProgress: status must be one of pending, in_progress, completed, failed, got "done"',
    ],
    [
      "a file count that is text",
      (r) => r.updateAgentProgress("a", "in_progress", "3", 7),
      'updateAgentProgress: filesCompleted must be a number, got "3"',
    ],
    [
      "a negative file count",
      (r) => r.updateAgentProgress("a", "in_progress", 1, -2),
      "updateAgentProgress: filesTotal must be at least 0, got -2",
    ],
    [
      "a missing error message",
      (r) => r.markAgentFailed("b"),
      "markAgentFailed: errorMessage must be a string, got nothing",
    ],
    [
      "an error message that is an object",
      (r) => r.markAgentFailed("b", { x: 1 }),
      'markAgentFailed: errorMessage must be a string, got {"x":1}',
    ],
    [
      "domains to add that are one string",
      (r) => r.addAgents("c,d"),
      'addAgents: domains must be an array of strings, got "c,d"',
    ],
    [
      "an event that is a number",
      (r) => r.logAgentEvent("b", 42),
      "logAgentEvent: message must be a string, got 42",
    ],
    [
      "a cost below zero",
      (r) => r.updateAgentProgress("b", "in_progress", 1, 2, { costUsd: -1 }),
      "updateAgentProgress: metrics: cost must be a decimal number of US dollars from 0 to 1000000000, e.g. 1.25, got -1",
    ],
    [
      "an event that is empty",
      (r) => r.logAgentEvent("b", "  "),
      'logAgentEvent: message cannot be empty, got "  "',
    ],
    [
      "a summary that is a number",
      (r) => r.markAgentComplete("c", 42),
      "markAgentComplete: resultSummary must be a string, got 42",
    ],
    [
      "a reason that is a number",
      (r) => r.cancelAgent("c", 1),
      "cancelAgent: reason must be a string, got 1",
    ],
    [
      "a cancelled agent's metrics with a key it does not have",
      (r) => r.cancelAgent("c", null, { cost: 1 }),
      'cancelAgent: metrics has an unknown key cost, got {"cost":1}',
    ],
    [
      "a completed agent's cost below zero",
      (r) => r.markAgentComplete("c", null, { costUsd: -1 }),
      "markAgentComplete: metrics: cost must be a decimal number of US dollars from 0 to 1000000000, e.g. 1.25, got -1",
    ],
    [
      "a failed agent's iteration past its most",
      (r) => r.markAgentFailed("c", "boom", { iteration: 4, maxIterations: 3 }),
      "markAgentFailed: metrics: iteration must be <i>/<max> with whole numbers, 0 ≤ i ≤ max and max ≥ 1, e.g. 3/10, got 4/3",
    ],
    [
      "a merge summary that is an array",
      (r) => r.finalizeParallelExecution(["x"]),
      'finalizeParallelExecution: mergeSummary must be a string, got ["x"]',
    ],
    [
      "metrics that are text (they were taken as none)",
      (r) => r.updateAgentProgress("a", "in_progress", 1, 2, "lots"),
      'updateAgentProgress: metrics must be an object, got "lots"',
    ],
    [
      "a cost that is text",
      (r) => r.updateAgentProgress("a", "in_progress", 1, 2, { costUsd: "1" }),
      'updateAgentProgress: metrics.costUsd must be a number, got "1"',
    ],
    [
      "an iteration past its maximum (the rule, as the CLI's --iteration says it)",
      (r) => r.updateAgentProgress("a", "in_progress", 1, 2, { iteration: 4, maxIterations: 3 }),
      "updateAgentProgress: metrics: iteration must be <i>/<max> with whole numbers, 0 ≤ i ≤ max and max ≥ 1, e.g. 3/10, got 4/3",
    ],
    [
      "a budget that is text",
      (r) => r.initializeParallelTracking("E", ["x"], undefined, { force: true, maxCostUsd: "5" }),
      'initializeParallelTracking: options.maxCostUsd must be a number, got "5"',
    ],
    [
      "a file count that is NaN (JSON would show null)",
      (r) => r.updateAgentProgress("a", "in_progress", Number.NaN, 2),
      "updateAgentProgress: filesCompleted must be a number, got NaN",
    ],
    [
      "a file total that is Infinity",
      (r) => r.updateAgentProgress("a", "in_progress", 1, Number.POSITIVE_INFINITY),
      "updateAgentProgress: filesTotal must be a number, got Infinity",
    ],
    [
      "a file total past a billion (a run's totals would lose exactness)",
      (r) => r.updateAgentProgress("a", "in_progress", 1, Number.MAX_SAFE_INTEGER),
      "updateAgentProgress: filesTotal must be at most 1000000000, got 9007199254740991",
    ],
    [
      "a file total past what a double holds exactly (the schema's bound, not zod's safe-integer one)",
      (r) => r.updateAgentProgress("a", "in_progress", 1, 1e20),
      "updateAgentProgress: filesTotal must be at most 1000000000, got 100000000000000000000",
    ],
    [
      "a file count far below zero (the schema's bound, not zod's safe-integer one)",
      (r) => r.updateAgentProgress("a", "in_progress", -1e20, 2),
      "updateAgentProgress: filesCompleted must be at least 0, got -100000000000000000000",
    ],
    [
      "a file count that is a bigint",
      (r) => r.updateAgentProgress("a", "in_progress", 1n, 2),
      "updateAgentProgress: filesCompleted must be a number, got 1n",
    ],
    [
      "a cost that is NaN",
      (r) => r.updateAgentProgress("a", "in_progress", 1, 2, { costUsd: Number.NaN }),
      "updateAgentProgress: metrics.costUsd must be a number, got NaN",
    ],
    [
      "a stall time of -0",
      (r) => r.initializeParallelTracking("E", ["a"], undefined, { stallAfterMs: -0 }),
      "initializeParallelTracking: options.stallAfterMs must be at least 1000, got -0",
    ],
    [
      "an agent that is a symbol",
      (r) => r.logAgentEvent(Symbol("b"), "note"),
      "logAgentEvent: agentId must be a string, got Symbol(b)",
    ],
    [
      "an error message that is a function",
      (r) => r.markAgentFailed("b", () => "boom"),
      "markAgentFailed: errorMessage must be a string, got a function",
    ],
    [
      "a merge summary with NaN inside",
      (r) => r.finalizeParallelExecution([Number.NaN]),
      "finalizeParallelExecution: mergeSummary must be a string, got [ NaN ]",
    ],
    [
      "a deadline that is -Infinity",
      (r) => r.retryReport({ deadline: Number.NEGATIVE_INFINITY }),
      "retryReport: options.deadline must be a number, got -Infinity",
    ],
    [
      "a dry run that is text",
      (r) => r.retryReport({ dryRun: "yes" }),
      'retryReport: options.dryRun must be a boolean, got "yes"',
    ],
    [
      "an epic id with a control character (the message names the parameter, not the CLI's --epic)",
      (r) => r.initializeParallelTracking("E\u0001", ["a"]),
      'initializeParallelTracking: epicId must be 1 to 200 printable characters, got "E\\u0001"',
    ],
    [
      "an epic directory that is empty",
      (r) => r.initializeParallelTracking("E", ["a"], ""),
      'initializeParallelTracking: epicDir cannot be empty, got ""',
    ],
    [
      "a budget under a name it does not know (it was dropped: no budget)",
      (r) => r.initializeParallelTracking("E", ["a"], undefined, { force: true, maxCost: 25 }),
      'initializeParallelTracking: options has an unknown key maxCost, got {"force":true,"maxCost":25}',
    ],
    [
      "a metric under a name it does not know (it was dropped)",
      (r) => r.updateAgentProgress("a", "in_progress", 1, 2, { cost: 1 }),
      'updateAgentProgress: metrics has an unknown key cost, got {"cost":1}',
    ],
    [
      "a parent under a name it does not know (the agents were added at the top level)",
      (r) => r.addAgents(["d"], { parnet: "a" }),
      'addAgents: options has an unknown key parnet, got {"parnet":"a"}',
    ],
    // The checks the library shares with the CLI's option parsers, given the method's name for a label.
    [
      "a budget below 0",
      (r) => r.initializeParallelTracking("E", ["a"], undefined, { force: true, maxCostUsd: -1 }),
      "initializeParallelTracking: options.maxCostUsd must be a decimal number of US dollars from 0 to 1000000000, e.g. 1.25, got -1",
    ],
    [
      "no domains to start with",
      (r) => r.initializeParallelTracking("E", [], undefined, { force: true }),
      "initializeParallelTracking: domains: at least one domain is required, got []",
    ],
    [
      "a domain given twice",
      (r) => r.initializeParallelTracking("E", ["x", " x"], undefined, { force: true }),
      'initializeParallelTracking: domains lists "x" more than once, got ["x"," x"]',
    ],
    [
      "no domains to add",
      (r) => r.addAgents([]),
      "addAgents: domains: at least one domain is required, got []",
    ],
    [
      "a domain to add with a control character",
      (r) => r.addAgents(["d\te"]),
      'addAgents: domains: a domain may not contain control characters, got "d\\te"',
    ],
    [
      "files done past the agent's total (its total left out)",
      (r) => r.updateAgentProgress("a", "in_progress", 3),
      "updateAgentProgress: files done (3) cannot exceed the total (0) for impl-a-163000",
    ],
  ])("%s: UsageError naming the method, the parameter and the value", async (_, call, message) => {
    const r = reporter();
    await r.initializeParallelTracking("E", ["a", "b", "c"]);
    const before = JSON.stringify(r.executionState);
    const error = await call(r).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
    expect(JSON.stringify(await r.load())).toBe(before);
  });

  it("refuses GitHub settings of the wrong type at the first call", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const r = createParallelReporter("/epic", { fs, env: {}, github: { issueNumber: "5" as Untyped } });
    await expect(r.initializeParallelTracking("E", ["a"])).rejects.toThrow(
      new UsageError('createParallelReporter: options.github.issueNumber must be a number, got "5"'),
    );
    const typo = createParallelReporter("/epic", { fs, env: {}, github: { issue: 5 } as Untyped });
    await expect(typo.status()).rejects.toThrow(
      "createParallelReporter: options.github has an unknown key issue",
    );
    const interval = createParallelReporter("/epic", { fs, env: {}, github: { minIntervalMs: 10_000_000 } });
    await expect(interval.initializeParallelTracking("E", ["a"])).rejects.toThrow(
      "createParallelReporter: options.github.minIntervalMs must be at most 600000, got 10000000",
    );
    // An issue number above GitHub's 32-bit ones (the PostgreSQL store's integer column), and one past
    // what a number holds exactly.
    for (const [issueNumber, shown] of [
      [2_147_483_648, "2147483648"],
      [3_000_000_000, "3000000000"],
      [1e20, "100000000000000000000"],
    ] as const) {
      const big = createParallelReporter("/epic", { fs, env: {}, github: { issueNumber } });
      await expect(big.initializeParallelTracking("E", ["a"])).rejects.toThrow(
        new UsageError(
          `createParallelReporter: options.github.issueNumber must be at most 2147483647, got ${shown}`,
        ),
      );
    }
    const largest = createParallelReporter("/epic-largest", {
      fs,
      env: {},
      github: { issueNumber: 2_147_483_647 },
    });
    await largest.initializeParallelTracking("E", ["a"]);
    expect((await largest.status())?.issueNumber).toBe(2_147_483_647);
    expect(fs.existsSync("/epic")).toBe(false);
  });

  // The injected parts by their shape, and no key the options do not have: a typo was dropped unseen
  // (`onWarnings`: no warnings heard), a part that is not one met as a TypeError inside.
  it.each<[string, Record<string, unknown>, string]>([
    ["a misnamed listener", { onWarnings: () => undefined }, "options has an unknown key onWarnings"],
    // A misnamed key's value is not shown: it may be a token (and the options hold the environment).
    ["a misnamed token", { githubToken: "ghp_notshown" }, "options has an unknown key githubToken"],
    ["a store that is not one", { store: {} }, "options.store.read must be a function, got nothing"],
    ["a store that is a number", { store: 5 }, "options.store must be an object, got 5"],
    ["a clock without now()", { clock: {} }, "options.clock.now must be a function, got nothing"],
    ["an environment that is null", { env: null }, "options.env must be an object, got null"],
    ["a file system that is a string", { fs: "/" }, 'options.fs must be an object, got "/"'],
    ["a sleep that is a number", { sleep: 5 }, "options.sleep must be a function, got 5"],
    [
      "an unknown flusher",
      { flusher: "detached" },
      'options.flusher must be "timer" or a function, got "detached"',
    ],
    [
      "a client that is a string",
      { client: "octokit" },
      'options.client must be an IssueCommentsClient or a function, got "octokit"',
    ],
  ])("refuses %s at the first call, naming the option", async (_, options, message) => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const r = createParallelReporter("/epic", { fs, env: {}, ...options } as Untyped);
    const error = await r.initializeParallelTracking("E", ["a"]).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`createParallelReporter: ${message}`);
    expect(fs.existsSync("/epic")).toBe(false);
  });

  it("takes options left out or null, and injected parts that are class instances", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    fs.mkdirSync("/epic");
    const store = new FileRunStore(fs, "/epic");
    for (const options of [null, undefined]) {
      const dir = await mkdtemp(join(tmpdir(), "pp-args-"));
      try {
        await expect(createParallelReporter(dir, options).load()).resolves.toBeNull();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const r = createParallelReporter("/epic", { fs, env: {}, store, client: new MemoryClient() });
    expect(await r.initializeParallelTracking("E", ["a"])).toHaveLength(1);
  });

  it.each<[string, unknown, string]>([
    ["no options", null, "options must be an object, got null"],
    [
      "a URL that is a number",
      { url: 5, epicId: "E" },
      "options.url must be a postgres:// or postgresql:// URL, got 5",
    ],
    [
      "another database's URL",
      { url: "mysql://h/db", epicId: "E" },
      'options.url must be a postgres:// or postgresql:// URL, got "mysql://h/db"',
    ],
    [
      "no epic (a database error at the first call)",
      { url: "postgres://h/db" },
      "options.epicId must be the run's epic id, got nothing",
    ],
    [
      "a blank epic",
      { url: "postgres://h/db", epicId: " " },
      'options.epicId must be 1 to 200 printable characters, got " "',
    ],
    [
      "no connections",
      { url: "postgres://h/db", epicId: "E", maxConnections: 0 },
      "options.maxConnections must be a whole number of at least 1, got 0",
    ],
    [
      "a timeout that is NaN",
      { url: "postgres://h/db", epicId: "E", connectTimeoutMs: Number.NaN },
      "options.connectTimeoutMs must be a whole number from 1 to 2147483647, got NaN",
    ],
    [
      "a statement timeout of 0 (none: a stuck database would hang)",
      { url: "postgres://h/db", epicId: "E", statementTimeoutMs: 0 },
      "options.statementTimeoutMs must be a whole number from 1 to 2147483647, got 0",
    ],
    [
      "a timeout longer than a timer can wait (it fired at once: the database taken for down)",
      { url: "postgres://h/db", epicId: "E", connectTimeoutMs: 2 ** 31 },
      "options.connectTimeoutMs must be a whole number from 1 to 2147483647, got 2147483648",
    ],
    [
      "a statement timeout longer than PostgreSQL takes",
      { url: "postgres://h/db", epicId: "E", statementTimeoutMs: 2 ** 31 },
      "options.statementTimeoutMs must be a whole number from 1 to 2147483647, got 2147483648",
    ],
    [
      "negative tries",
      { url: "postgres://h/db", epicId: "E", optimisticAttempts: -1 },
      "options.optimisticAttempts must be a whole number of at least 0, got -1",
    ],
    [
      "a misnamed option (its value not shown: it may be a password)",
      { url: "postgres://h/db", epicId: "E", maxConnection: 3 },
      "options has an unknown key maxConnection: expected url, epicId, maxConnections, connectTimeoutMs, statementTimeoutMs, optimisticAttempts",
    ],
  ])("createPostgresStore refuses %s at once", (_, options, message) => {
    expect(() => createPostgresStore(options as Untyped)).toThrow(
      new UsageError(`createPostgresStore: ${message}`),
    );
  });

  it("createPostgresStore takes the epic trimmed, as the CLI takes --epic", () => {
    expect(createPostgresStore({ url: "postgres://h/db", epicId: " E ", optimisticAttempts: 0 }).epicId).toBe(
      "E",
    );
  });

  it("refuses an epic directory that is a file (or under one) with a UsageError, not ENOTDIR", async () => {
    const fs = createFsFromVolume(Volume.fromJSON({ "/notes.txt": "x" })) as unknown as FileSystem;
    const at = (dir: string) => createParallelReporter(dir, { fs, env: {} });
    await expect(at("/notes.txt").initializeParallelTracking("E", ["a"])).rejects.toThrow(
      new UsageError('createParallelReporter: epicDir: not a directory, got "/notes.txt"'),
    );
    await expect(at("/notes.txt/epic").status()).rejects.toThrow(
      new UsageError('createParallelReporter: epicDir: not a directory, got "/notes.txt/epic"'),
    );
    await expect(at("/epic").initializeParallelTracking("E", ["a"], "/notes.txt")).rejects.toThrow(
      new UsageError('initializeParallelTracking: epicDir: not a directory, got "/notes.txt"'),
    );
    expect(await at("/new/epic").initializeParallelTracking("E", ["a"])).toHaveLength(1);
  });

  it("refuses an epic directory too long for the system with a UsageError, before any file is made", async () => {
    // The injected fs (memfs) knows no system limits: a name past 255 bytes is refused by its length.
    const fs = createFsFromVolume(Volume.fromJSON({ "/notes.txt": "x" })) as unknown as FileSystem;
    const name = "é".repeat(128); // 128 characters, 256 bytes
    await expect(
      createParallelReporter(`/new/${name}/epic`, { fs, env: {} }).initializeParallelTracking("E", ["a"]),
    ).rejects.toThrow(
      new UsageError(
        `createParallelReporter: epicDir: a name in the path is longer than 255 bytes, got ${quote(`/new/${name}/epic`)}`,
      ),
    );
    expect(fs.existsSync("/new")).toBe(false);
    expect(
      await createParallelReporter(`/new/${name.slice(1)}`, { fs, env: {} }).initializeParallelTracking("E", [
        "a",
      ]),
    ).toHaveLength(1);
  });

  it("refuses a bad GITHUB_API_URL before a change is made, not when its write is due", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const good = createParallelReporter("/epic", { fs, env: {} });
    await good.initializeParallelTracking("E", ["a"]);
    const before = fs.readFileSync("/epic/.parallel-progress/state.json", "utf8");
    const bad = createParallelReporter("/epic", { fs, env: { GITHUB_API_URL: "ftp://x" } });
    await expect(bad.updateAgentProgress("a", "in_progress", 1, 2)).rejects.toThrow(
      new UsageError(
        'updateAgentProgress: GITHUB_API_URL must be an http(s) URL such as https://api.github.com, got "ftp://x"',
      ),
    );
    expect(fs.readFileSync("/epic/.parallel-progress/state.json", "utf8")).toBe(before);
  });

  it("refuses an epic directory holding a NUL with a UsageError on every call, not Node's TypeError", async () => {
    const reporter = createParallelReporter("/tmp/epic\0x", { env: {} });
    const refused = new UsageError(
      'createParallelReporter: epicDir: a path cannot hold a NUL character, got "/tmp/epic\\u0000x"',
    );
    await expect(reporter.status()).rejects.toThrow(refused);
    await expect(reporter.updateAgentProgress("a", "in_progress")).rejects.toThrow(refused);
    await expect(reporter.retryReport()).rejects.toThrow(refused);
    await expect(
      createParallelReporter("/tmp/e", { env: {} }).initializeParallelTracking("E", ["a"], "/tmp/\0"),
    ).rejects.toThrow(
      new UsageError(
        'initializeParallelTracking: epicDir: a path cannot hold a NUL character, got "/tmp/\\u0000"',
      ),
    );
  });

  it("refuses an epic directory that is not a path", () => {
    expect(() => createParallelReporter(42 as Untyped)).toThrow(
      new UsageError("createParallelReporter: epicDir must be the path of the epic directory, got 42"),
    );
    expect(() => createParallelReporter("  ")).toThrow(
      new UsageError('createParallelReporter: epicDir must be the path of the epic directory, got "  "'),
    );
  });

  it("accepts what the API documents, summaries and reasons left out included", async () => {
    const r = reporter();
    await r.initializeParallelTracking("E", ["a", "b", "c"], "/epic", { stallAfterMs: 60_000 });
    await r.updateAgentProgress("a", "in_progress", 1, 2);
    await r.updateAgentProgress("a", "in_progress");
    await r.markAgentComplete("a");
    await r.markAgentComplete("b", null);
    await r.markAgentFailed("c", "boom");
    await r.logAgentEvent("c", "note");
    await r.cancelAgent("c");
    await r.cancelAgent("c", "stopped", { costUsd: 0.25 });
    await r.markAgentFailed("b", "late", { costUsd: 1, criteriaVerified: 1, criteriaTotal: 2 });
    expect(r.executionState.agents).toMatchObject({
      [(await r.status()).agents[2]!.agentId]: { status: "cancelled", costUsd: 0.25, error: "stopped" },
      [(await r.status()).agents[1]!.agentId]: { status: "failed", costUsd: 1, criteriaVerified: 1 },
    });
    const result = await r.finalizeParallelExecution();
    expect(result.finalizedNow).toBe(true);
    expect(r.executionState.mergeSummary).toBe("");
  });
});

describe("a library error echoing a value typed by mistake", () => {
  it("masks the environment's token in its message and stack, whatever its shape", async () => {
    const token = "plainpassw0rdXYZ";
    const volume = new Volume();
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    fs.mkdirSync("/epic", { recursive: true });
    const reporter = createParallelReporter("/epic", { fs, env: { GITHUB_TOKEN: token } });
    await reporter.initializeParallelTracking("E", ["a"]);
    const calls: [string, () => Promise<unknown>][] = [
      ["a status", () => reporter.updateAgentProgress("a", token as never)],
      ["an agent", () => reporter.updateAgentProgress(token, "in_progress")],
      ["an options object", () => reporter.markAgentFailed("a", { token } as never)],
    ];
    for (const [what, call] of calls) {
      const error = (await call().catch((caught: unknown) => caught)) as Error;
      expect(error, what).toBeInstanceOf(UsageError);
      expect(error.message, what).toContain("***");
      expect(`${error.message}\n${error.stack}`, what).not.toContain(token);
    }
    await reporter.close();
  });
});
