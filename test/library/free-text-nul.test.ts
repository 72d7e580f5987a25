import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkNoNul } from "../../src/config/options.js";
import { UsageError } from "../../src/errors.js";
import { createParallelReporter, createPostgresStore } from "../../src/index.js";
import type { RunStore } from "../../src/store/types.js";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.js";

/**
 * Agent text with a NUL (U+0000) is refused as the caller's mistake, naming the method and parameter, before
 * anything is changed: by the reporter, on the file store and the PostgreSQL store alike (PostgreSQL cannot
 * hold a NUL; a run must mean the same in either store).
 */

const noPostgres = postgresUnavailable();
const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

const STORES: [string, (epic: string) => Promise<RunStore | undefined>][] = [
  ["the file store", async () => undefined],
  [
    "the PostgreSQL store",
    async (epic) =>
      createPostgresStore({ url: (await sharedPostgres().createDatabase("nul")).url, epicId: epic }),
  ],
];

describe.each(STORES)("NUL in agent text, on %s", (name, open) => {
  it.skipIf(name.includes("PostgreSQL") && noPostgres)(
    "is refused by every method that takes text, and the run stays as it was",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "pp-nul-"));
      folders.push(dir);
      const store = await open("E-NUL");
      const reporter = createParallelReporter(dir, { env: {}, ...(store ? { store } : {}) });
      try {
        const [api] = await reporter.initializeParallelTracking("E-NUL", ["api", "web"]);
        const id = api!.agentId;
        const before = await reporter.load();
        const calls: [string, () => Promise<unknown>][] = [
          ["markAgentFailed: errorMessage", () => reporter.markAgentFailed(id, "bad\u0000thing")],
          ["markAgentComplete: resultSummary", () => reporter.markAgentComplete(id, "done\u0000")],
          ["cancelAgent: reason", () => reporter.cancelAgent(id, "\u0000why")],
          ["logAgentEvent: message", () => reporter.logAgentEvent(id, "step \u0000 one")],
          [
            "finalizeParallelExecution: mergeSummary",
            () => reporter.finalizeParallelExecution("merged\u0000evil"),
          ],
        ];
        for (const [what, call] of calls) {
          const refused = call();
          await expect(refused).rejects.toBeInstanceOf(UsageError);
          await expect(refused).rejects.toThrow(
            `${what} may not contain NUL characters (U+0000), got one at`,
          );
        }
        expect(await reporter.load()).toEqual(before);
        // Every other character is the agent's, kept as given.
        await reporter.markAgentFailed(id, "bad\u0001thing \u007f é 🚀");
        expect(reporter.executionState.agents[id]?.error).toBe("bad\u0001thing \u007f é 🚀");
      } finally {
        await store?.close();
      }
    },
  );
});

describe("checkNoNul", () => {
  it("names the text, where the NUL is, and shows it escaped", () => {
    expect(() => checkNoNul("ab\u0000", "x")).toThrow(
      'x may not contain NUL characters (U+0000), got one at character 3: "ab\\u0000"',
    );
    expect(() => checkNoNul("ok\n\t\u0085", "x")).not.toThrow();
    expect(() => checkNoNul(null, "x")).not.toThrow();
    expect(() => checkNoNul(undefined, "x")).not.toThrow();
  });
});
