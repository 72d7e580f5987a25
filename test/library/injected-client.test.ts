import { inspect } from "node:util";
import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../src/errors.js";
import type { IssueCommentsClient } from "../../src/github/types.js";
import { createParallelReporter, type ReporterOptions } from "../../src/reporter.js";
import type { FileSystem } from "../../src/util/io.js";
import { MemoryClient } from "../support/memory-client.js";

/**
 * A client given to the library is held to IssueCommentsClient's promises: whatever it throws, answers
 * or fails to answer is GitHub trouble (a warning and a queued post), never a rejection of the caller's
 * call, and never a call that outlives its deadline.
 */

function setup(client: NonNullable<ReporterOptions["client"]>, env: Record<string, string> = {}) {
  const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
  fs.mkdirSync("/epic", { recursive: true });
  const warnings: string[] = [];
  const reporter = createParallelReporter("/epic", {
    fs,
    env,
    client,
    github: { issueNumber: 5, repo: "o/r", minIntervalMs: 0 },
    onWarning: (message) => warnings.push(message),
  });
  const queued = () => fs.readdirSync("/epic/.github_parallel_queue").filter((n) => n.endsWith(".json"));
  return { reporter, warnings, queued, fs };
}

/** Every file under `dir` of a memfs volume, with its text. */
function filesUnder(fs: FileSystem, dir: string): string[] {
  return (fs.readdirSync(dir) as string[]).flatMap((name) => {
    const path = `${dir}/${name}`;
    return fs.statSync(path).isDirectory()
      ? filesUnder(fs, path)
      : [`${path}: ${fs.readFileSync(path, "utf8")}`];
  });
}

/** A client whose every method does `behave`. */
const every = (behave: () => unknown): IssueCommentsClient =>
  ({
    viewer: behave,
    listComments: behave,
    createComment: behave,
    updateComment: behave,
    deleteComment: behave,
  }) as unknown as IssueCommentsClient;

describe("a client given to the library", () => {
  it.each([
    ["an Error", async () => Promise.reject(new Error("socket hang up")), "threw Error: socket hang up"],
    ["a TypeError thrown at once", () => JSON.parse("{"), "threw SyntaxError"],
    ["a string", async () => Promise.reject("nope"), "threw nope"],
    ["undefined", async () => Promise.reject(undefined), "threw undefined"],
    [
      "a token in its message",
      async () => Promise.reject(new Error("Authorization: token ghp_abcdefghijklmnop1234")),
      "threw Error: Authorization: ***",
    ],
    ["no list of comments", async () => null, "answered null, not a list of comments"],
    ["a comment without an id", async () => ({ body: "x" }), "answered"],
  ])(
    "that fails with %s: every call resolves, the trouble warned about and queued",
    async (_, behave, said) => {
      const { reporter, warnings, queued } = setup(every(behave));
      await reporter.initializeParallelTracking("E", ["a", "b"]);
      await reporter.updateAgentProgress("a", "in_progress", 1, 2);
      const result = await reporter.finalizeParallelExecution("merged");
      expect(await reporter.retryOfflineQueue()).toBe(0);
      await reporter.close();
      expect(result).toMatchObject({ finalizedNow: true, posted: false });
      expect(result.queued).toBeGreaterThan(0);
      expect(queued().length).toBe(result.queued);
      expect(warnings.some((warning) => warning.includes(said))).toBe(true);
      expect(warnings.join("\n")).not.toContain("ghp_");
    },
  );

  it("whose comments have no creation time (the lookup sorts by it): the same", async () => {
    const memory = new MemoryClient();
    const client = {
      viewer: () => memory.viewer(),
      listComments: async () => [{ id: 1, body: "x", author: "octo-bot" }],
      createComment: memory.createComment.bind(memory),
      updateComment: memory.updateComment.bind(memory),
      deleteComment: memory.deleteComment.bind(memory),
    } as unknown as IssueCommentsClient;
    const { reporter, warnings } = setup(client);
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.finalizeParallelExecution("merged");
    expect(warnings.join("\n")).toContain(
      "listing the comments: the GitHub client answered a list holding a comment without createdAt",
    );
  });

  it("that cannot be made (its factory throws): the same", async () => {
    const { reporter, warnings, queued } = setup(async () => {
      throw new Error("no transport");
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    expect((await reporter.finalizeParallelExecution("merged")).queued).toBe(queued().length);
    expect(warnings[0]).toMatch(
      /^GitHub: the GitHub client could not be made: no transport; the update is queued/,
    );
  });

  it("that never answers is given up on when the call's time is up, its posts kept in the queue", async () => {
    const memory = new MemoryClient();
    let hanging = false;
    const hangs = (call: () => Promise<unknown>) => () => (hanging ? new Promise(() => {}) : call());
    const client = {
      viewer: hangs(() => memory.viewer()),
      listComments: hangs(() => memory.listComments({ owner: "o", name: "r" }, 5)),
      createComment: (repo, issue, body) => hangs(() => memory.createComment(repo, issue, body))(),
      updateComment: (repo, id, body) => hangs(() => memory.updateComment(repo, id, body))(),
      deleteComment: (repo, id) => hangs(() => memory.deleteComment(repo, id))(),
    } as IssueCommentsClient;
    const { reporter, warnings } = setup(client);
    await reporter.initializeParallelTracking("E", ["a"]);
    memory.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    memory.down = null;
    hanging = true;
    // Without the guard this call never ends (the test times out).
    const report = await reporter.retryReport({ deadline: Date.now() + 200 });
    expect(report.remaining).toBe(1);
    expect(warnings.at(-1)).toMatch(/: the GitHub client did not answer within 0\.\ds; the update is queued/);
    await reporter.close();
  });

  it("made by a synchronous factory (typed as one, no cast): it is used as an async one's", async () => {
    const memory = new MemoryClient();
    const { reporter, warnings } = setup((apiUrl: string) => (apiUrl.startsWith("https://") ? memory : null));
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.close();
    expect(warnings).toEqual([]);
    expect(memory.comments).toHaveLength(1);
  });

  it("whose factory never settles: the call gives up on it at its deadline, warns and queues", async () => {
    let made = 0;
    const { reporter, warnings, queued } = setup(() => {
      made++;
      return new Promise<never>(() => {});
    });
    const started = Date.now();
    // Without the deadline on the factory, this call and close() never end (the test times out).
    await reporter.initializeParallelTracking("E", ["a"]);
    expect(Date.now() - started).toBeLessThan(11_000);
    expect(warnings[0]).toMatch(
      /^GitHub: the GitHub client factory did not answer within 9\.\ds; the update is queued/,
    );
    expect(queued()).toHaveLength(1);
    expect(made).toBe(1);
    await reporter.close();
  });

  it("whose factory is still making a client: calls meanwhile wait for it, then call it anew", async () => {
    const memory = new MemoryClient();
    memory.down = new GitHubError("GitHub is down", { kind: "server", status: 503 });
    let made = 0;
    let hang = false;
    const { reporter, warnings } = setup(async () => {
      made++;
      return hang ? new Promise<never>(() => {}) : memory;
    });
    await reporter.initializeParallelTracking("E", ["a"]);
    memory.down = null;
    hang = true;
    made = 0;
    const deadline = Date.now() + 300;
    // Two retries at once need a client for the queued post: the factory is asked once for both.
    const reports = await Promise.all([
      reporter.retryReport({ deadline }),
      reporter.retryReport({ deadline }),
    ]);
    expect(reports.map((report) => report.remaining)).toEqual([1, 1]);
    expect(made).toBe(1);
    expect(warnings.at(-1)).toMatch(/the GitHub client factory did not answer within 0\.\ds/);
    // Given up on: the next call asks the factory again (it may answer now), and it does.
    hang = false;
    expect(await reporter.retryOfflineQueue()).toBe(1);
    expect(made).toBe(2);
    await reporter.close();
  });

  describe("whose errors quote the token", () => {
    // Token-shaped, and one that is not (a GitHub Enterprise token, say): masked because it is the
    // environment's.
    const shaped = "ghp_QWERTYUIOPASDFGHJKLZXCVBNM0123456789";
    const plain = "enterprise-secret-0123456789";
    const env = { GITHUB_TOKEN: shaped, GH_TOKEN: plain };
    const failing = (): IssueCommentsClient => ({
      viewer: async () => "bot",
      listComments: async () => [],
      createComment: async () => {
        throw new GitHubError(`POST /repos/o/r/issues/5/comments (authorization: token ${shaped}) -> 502`, {
          kind: "server",
          status: 502,
        });
      },
      updateComment: async () => {
        throw new GitHubError(`PATCH with ${plain} -> 502`, { kind: "server", status: 502 });
      },
      deleteComment: async () => undefined,
    });

    it.each([
      ["a GitHubError from a method", failing],
      [
        "a GitHubError from its factory",
        () => async () => Promise.reject(new GitHubError(`auth ${plain}`, { kind: "auth" })),
      ],
      [
        "an Error from its factory",
        () => async () => Promise.reject(new Error(`with auth ${shaped}: expired`)),
      ],
    ] as const)(
      "(%s): no token in warnings, sync events, status(), the run state or the queue",
      async (_, client) => {
        const { reporter, warnings, fs } = setup(client(), env);
        const synced: string[] = [];
        // The whole error as a listener would log it (Node's inspect shows its cause too).
        reporter.on("sync", (result) => result.kind === "failed" && synced.push(inspect(result.error)));
        await reporter.initializeParallelTracking("E", ["a"]);
        await reporter.updateAgentProgress("a", "in_progress", 1, 2);
        await reporter.updateAgentProgress("a", "in_progress", 2, 2);
        const status = await reporter.status();
        await reporter.close();
        expect(warnings.length).toBeGreaterThan(0);
        expect(status.sync.lastError).toContain("***");
        const seen = [...warnings, ...synced, JSON.stringify(status), ...filesUnder(fs, "/epic")].join("\n");
        expect(seen).not.toContain(shaped);
        expect(seen).not.toContain(plain);
      },
    );
  });
});
