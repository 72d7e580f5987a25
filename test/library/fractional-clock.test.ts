import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/index.js";
import { QUEUE_FILE_PATTERN } from "../../src/queue/file-name.js";
import { parseMarker } from "../../src/render/marker.js";
import { startFakeGitHub } from "../support/fake-github/index.js";

/**
 * A high-resolution clock (`performance.timeOrigin + performance.now()`: epoch milliseconds with a
 * fraction) is a valid clock. Its fractions reached a request's timeout (AbortSignal.timeout takes whole
 * milliseconds), so every request with under 8 s of the call's time left failed inside the library, and
 * the queue files it then wrote had names with a fraction in them, which `retry` and `status` never saw.
 */

const TOKEN = "ghp_fractional0123456789abcdefghijklmnop";

describe("a reporter on a clock with fractions of a millisecond", () => {
  it("posts to a slow GitHub, and queues nothing", { timeout: 40_000 }, async () => {
    const gh = await startFakeGitHub({ tokens: { [TOKEN]: "octo-bot" } });
    const dir = await mkdtemp(join(tmpdir(), "pp-fraction-"));
    const warnings: string[] = [];
    try {
      // 1.6 s a request: each call's requests after its first start with under 8 s of its 9.5 s left.
      gh.setFaults({ latencyMs: 1600 });
      const reporter = createParallelReporter(dir, {
        env: { GITHUB_TOKEN: TOKEN },
        clock: { now: () => performance.timeOrigin + performance.now() },
        onWarning: (message) => warnings.push(message),
        github: { issueNumber: 123, repo: "acme/widgets", apiUrl: gh.url },
      });
      await reporter.initializeParallelTracking("FRAC", ["a"]);
      await reporter.updateAgentProgress("a", "in_progress", 1, 4);
      const result = await reporter.finalizeParallelExecution("merged");
      await reporter.close();
      expect(warnings).toEqual([]);
      expect(result).toMatchObject({ posted: true, queued: 0 });
      const kinds = gh.comments("acme/widgets", 123).map((c) => parseMarker(c.body)?.kind);
      expect(kinds.filter((kind) => kind === "final")).toHaveLength(1);
      const queued = await readdir(join(dir, ".github_parallel_queue")).catch(() => [] as string[]);
      expect(queued.filter((name) => name.startsWith("comment_"))).toEqual([]);
    } finally {
      await gh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("queues what GitHub refused under names retry and status read", { timeout: 40_000 }, async () => {
    const gh = await startFakeGitHub({ tokens: { [TOKEN]: "octo-bot" } });
    const dir = await mkdtemp(join(tmpdir(), "pp-fraction-"));
    try {
      gh.setFaults({ failureRate: 1 });
      const reporter = createParallelReporter(dir, {
        env: { GITHUB_TOKEN: TOKEN },
        clock: { now: () => performance.timeOrigin + performance.now() },
        onWarning: () => undefined,
        github: { issueNumber: 123, repo: "acme/widgets", apiUrl: gh.url },
      });
      await reporter.initializeParallelTracking("FRAC", ["a"]);
      const result = await reporter.finalizeParallelExecution("merged");
      const queued = (await readdir(join(dir, ".github_parallel_queue"))).filter((name) =>
        name.startsWith("comment_"),
      );
      expect(queued.length).toBeGreaterThan(0);
      for (const name of queued) expect(name).toMatch(QUEUE_FILE_PATTERN);
      expect(result.queued).toBe(queued.length);
      expect((await reporter.status()).sync.queued).toBe(queued.length);
      await reporter.close();
    } finally {
      await gh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
