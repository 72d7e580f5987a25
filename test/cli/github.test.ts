import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { allFileText, queueFiles, runCli, waitFor } from "../support/cli.js";
import type { FakeGitHub, FakeGitHubOptions } from "../support/fake-github/index.js";
import { useFakeGitHub } from "../support/harness.js";

const TOKEN = "ghp_testtoken0123456789abcdefghijklmnopqrstu";
const fakeGitHub = useFakeGitHub(TOKEN);
const setup = (fake: FakeGitHubOptions = {}) => fakeGitHub({ fake });

const byKind = (gh: FakeGitHub, kind: "progress" | "final") =>
  gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === kind);

/** The comment as a reader sees it: agent ids and times replaced, the hidden marker dropped. */
function visible(body: string): string {
  return body
    .replace(/\n*<!-- parallel-progress:[^>]*-->\s*$/, "")
    .replace(/impl-(\w{3})-\d{6}/g, "impl-$1-163000")
    .replace(/\*\*Started:\*\* .*/, "**Started:** 2025-10-19 16:30:00")
    .replace(/\*\*Total Duration:\*\* .*/, "**Total Duration:** 12 minutes");
}

const GUIDE_FINAL_TABLE = `## 🔄 Parallel Execution Progress

**Parallel execution completed**

**Mode:** Parallel (3 domains)
**Started:** 2025-10-19 16:30:00

| Domain | Agent | Status | Files | Progress |
|--------|-------|--------|-------|----------|
| backend | impl-bac-163000 | ✅ Completed | 7/7 | 100% |
| frontend | impl-fro-163000 | ✅ Completed | 5/5 | 100% |
| tests | impl-tes-163000 | ✅ Completed | 4/4 | 100% |

**Overall:** 100% (16/16 files)`;

const MERGE = `All parallel worktrees merged successfully.
- backend: 7 files integrated
- frontend: 5 files integrated
- tests: 4 files integrated

Conflict resolution: 0 conflicts
Integration tests: PASSED`;

describe("the CLI against a fake GitHub on loopback", () => {
  it("drives the guide's walkthrough to one progress comment and one final summary", async () => {
    const { gh, cli } = await setup({ minWriteIntervalMs: 1000 });
    const init = await cli("init", "--epic", "EPIC-007", "--domains", "backend,frontend,tests");
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(byKind(gh, "progress")).toHaveLength(1);
    expect(visible(byKind(gh, "progress")[0]!.body)).toContain("**Parallel execution initialized**");

    for (const [agent, files] of [
      ["backend", "3/7"],
      ["frontend", "0/5"],
      ["tests", "0/4"],
    ] as const) {
      const update = await cli("update", agent, "--status", "in_progress", "--files", files, "--verbose");
      expect(update.code).toBe(0);
      expect(update.stderr).toMatch(
        /GitHub: (progress comment written|next write due|another process is writing)/,
      );
    }
    for (const [agent, files] of [
      ["backend", "7/7"],
      ["frontend", "5/5"],
      ["tests", "4/4"],
    ] as const) {
      expect((await cli("update", agent, "--status", "in_progress", "--files", files)).code).toBe(0);
      expect((await cli("complete", agent)).code).toBe(0);
    }
    const finalize = await cli("finalize", "--summary", MERGE);
    expect(finalize.code).toBe(0);

    const progress = byKind(gh, "progress");
    const final = byKind(gh, "final");
    expect(progress).toHaveLength(1);
    expect(final).toHaveLength(1);
    // The guide's lines exactly, plus the status counts line this product adds after Overall.
    const counts = "\n**Agents:** 0 pending, 0 running, 3 completed, 0 failed";
    expect(visible(progress[0]!.body)).toBe(GUIDE_FINAL_TABLE + counts);
    const summary = `\n\n## 🎉 Final Summary\n\n**Total Duration:** 12 minutes\n**Total Files:** 16/16\n\n### Merge Results\n\n${MERGE}`;
    expect(visible(final[0]!.body).startsWith(GUIDE_FINAL_TABLE + counts + summary)).toBe(true);
    expect(visible(final[0]!.body)).toContain("### Agent Durations");
    expect(gh.rateLimitResponses).toBe(0);
    expect((await cli("status")).stdout).toMatch(
      /^GitHub: https:\/\/github\.com\/acme\/widgets\/issues\/123#issuecomment-\d+; up to date$/m,
    );
    const again = await cli("finalize", "--summary", MERGE, "--verbose");
    expect(again.code).toBe(0);
    expect(byKind(gh, "final")).toHaveLength(1);
    expect(again.stderr).toContain(
      `final summary on the issue: https://github.com/acme/widgets/issues/123#issuecomment-${final[0]!.id}`,
    );
  });

  it("keeps working when GitHub is unreachable, then retry brings the issue to the truth once", async () => {
    const { gh, cli, dir } = await setup();
    gh.setFaults({ dropRate: 1 });
    // --min-interval 0: retry's two writes (progress, then the final summary) need not be 1 s apart here.
    const init = await cli("init", "--epic", "E", "--domains", "a,b", "--min-interval", "0");
    expect(init.code).toBe(0);
    expect(init.stderr).toMatch(/warning: GitHub: .*queued as comment_/);
    // While it is down, commands exit 0 (a plain update is the same as `complete` here).
    for (const args of [
      ["complete", "a"],
      ["fail", "b", "--error", "boom"],
    ]) {
      const result = await cli(...args);
      expect(result.code).toBe(0);
    }
    const fin = await cli("finalize", "--summary", "merged");
    expect(fin.code).toBe(0);
    expect(fin.stderr).toMatch(/remain to be sent/);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    const stillDown = await cli("retry");
    expect(stillDown.code).toBe(3);
    const table = await cli("status");
    expect(table.stdout).toMatch(/^GitHub: .*\d+ queued post\(s\): parallel-progress retry; last error: /m);

    gh.setFaults({ dropRate: 0 });
    const dry = await cli("retry", "--dry-run");
    expect(dry.stdout).toMatch(/comment_\d{8}_\d{6}_\d{6}\.json\tcurrent\t/);
    const retry = await cli("retry");
    expect(retry.stderr).toBe("");
    expect(retry.code).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    expect(byKind(gh, "progress")).toHaveLength(1);
    expect(byKind(gh, "final")).toHaveLength(1);
    expect(byKind(gh, "progress")[0]!.body).toContain("**Parallel execution completed**");
    expect(byKind(gh, "progress")[0]!.body).toContain("❌ Failed");
    // A second retry posts nothing more: test/convergence/queue.test.ts (retryReport().remaining 0, one final).
    expect(await allFileText(dir)).not.toContain(TOKEN);
  });

  it("coalesces a burst from 8 processes: one comment, writes ≥1 s apart, no rate limit, exact final state", async () => {
    const { gh, cli, dir } = await setup({ minWriteIntervalMs: 1000 });
    const domains = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"];
    await cli("init", "--epic", "E", "--domains", domains.join(","));
    // 8 processes at once, two calls each (an update, then `complete`, which counts the files done): the
    // overlap (lease, write spacing, a background writer picking up later changes) is what a process
    // shows; more updates per agent only repeat it (coalescing in-process: test/sync/reporter-sync.test.ts).
    await Promise.all(
      domains.map(async (domain) => {
        const update = await cli("update", domain, "--status", "in_progress", "--files", "1/2");
        expect(update.code).toBe(0);
        expect((await cli("complete", domain)).code).toBe(0);
      }),
    );
    const done = await waitFor(
      () => byKind(gh, "progress")[0]?.body.includes("**Overall:** 100% (16/16 files)") ?? false,
      15_000,
    );
    expect(done).toBe(true);
    expect(byKind(gh, "progress")).toHaveLength(1);
    expect(gh.rateLimitResponses).toBe(0);
    expect(gh.writes.length).toBeGreaterThanOrEqual(2); // init's, and the one with the final state
    const gaps = gh.writes.slice(1).map((t, i) => t - gh.writes[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(990);
    expect((await cli("finalize", "--summary", "ok")).code).toBe(0);
    expect(byKind(gh, "progress")[0]!.body).toContain("**Overall:** 100% (16/16 files)");
    expect(byKind(gh, "final")).toHaveLength(1);
    expect(await queueFiles(dir)).toEqual([]);
  });

  it("finalize edits the known progress comment after someone edited its marker away, as update does", async () => {
    const { gh, cli } = await setup();
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    const [comment] = byKind(gh, "progress");
    expect(gh.editComment(comment!.id, "the bot's table, edited by hand")).toBeDefined();
    const finalize = await cli("finalize", "--summary", "merged");
    expect(finalize.code).toBe(0);
    // The same comment, its marker back, and no second progress comment.
    expect(byKind(gh, "progress").map((c) => c.id)).toEqual([comment!.id]);
    expect(byKind(gh, "progress")[0]!.body).toContain("**Parallel execution completed**");
    expect(byKind(gh, "final")).toHaveLength(1);
    expect(gh.comments("acme/widgets", 123)).toHaveLength(2);
  });

  // A token that cannot read /user (Actions' GITHUB_TOKEN) finding its own comment by marker after a
  // deletion: test/convergence/bot-token.test.ts; its init and finalize as processes: test/cli/footprint.test.ts.
});

describe("the offline queue keeps the truth and the token", () => {
  // "A finalize GitHub never saw ... is posted once" runs in-process: test/convergence/queue.test.ts.
  it("an entry queued for another API URL is not sent there with the token: it stays queued, said why", async () => {
    const { gh, cli, dir, env } = await setup();
    const { gh: elsewhere } = await setup();
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    const queue = join(dir, ".github_parallel_queue");
    await mkdir(queue, { recursive: true });
    const name = "comment_20250101_000000_000001.json";
    const item = {
      issue_number: 123,
      comment: "planted",
      timestamp: "2025-01-01T00:00:00.000Z",
      repo: "acme/widgets",
      api_url: elsewhere.url,
      kind: "final",
      comment_mode: "edit",
      run_id: "SOMEONE-ELSES-RUN",
      seq: 1,
    };
    await writeFile(join(queue, name), JSON.stringify(item));
    const retry = await cli("retry");
    expect(retry.code).toBe(3);
    expect(retry.stderr).toContain(`${name} is for ${elsewhere.url}`);
    expect(retry.stderr).toContain("run retry with GITHUB_API_URL set to it to send it there");
    const pointed = await cli("retry", "--api-url", elsewhere.url);
    expect(pointed.code).toBe(2);
    expect(pointed.stderr).toMatch(/--api-url names .*a run stays on one GitHub/);
    expect(elsewhere.requests).toHaveLength(0);
    expect(await queueFiles(dir)).toEqual([name]);
    expect(gh.comments("acme/widgets", 123).some((c) => c.body === "planted")).toBe(false);
    // Configured for that API (GITHUB_API_URL), a retry sends another run's entry there, whatever this
    // directory's run posts to: an earlier run's leftovers are not stuck behind the next run's API.
    const configured = await runCli(["retry", "--dir", dir], {
      env: { ...env, GITHUB_API_URL: elsewhere.url },
    });
    expect(configured.stderr).not.toContain(`${name} is for`);
    expect(elsewhere.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["planted"]);
    expect(await queueFiles(dir)).toEqual([]);
  });
});

describe("a state file naming another GitHub API", () => {
  it("gets no token: the write is warned of and queued, the other host asked nothing", async () => {
    const { cli, dir, gh } = await setup();
    const { gh: elsewhere } = await setup();
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    // Planted in the epic folder (a checkout, a shared folder): the run's API is another host.
    const stateFile = join(dir, ".parallel-progress", "state.json");
    const state = JSON.parse(await readFile(stateFile, "utf8"));
    state.github.apiUrl = elsewhere.url;
    await writeFile(stateFile, JSON.stringify(state));
    const before = gh.requests.length;
    const update = await cli(
      "update",
      "a",
      "--status",
      "in_progress",
      "--files",
      "1/2",
      "--min-interval",
      "0",
    );
    expect(update.code, update.stderr).toBe(0);
    expect(update.stderr).toContain(
      `the run posts to ${elsewhere.url}, but this call's GitHub API is ${gh.url}`,
    );
    expect(await queueFiles(dir)).toHaveLength(1);
    await cli("finalize");
    expect(elsewhere.requests).toHaveLength(0);
    expect(gh.requests.length).toBe(before);
  });

  it("takes nothing of the run when a call has no token: no write budget spent, no background writer claimed", async () => {
    const { cli, dir, env } = await setup();
    expect((await cli("init", "--epic", "E", "--domains", "a", "--min-interval", "0")).code).toBe(0);
    const stateFile = join(dir, ".parallel-progress", "state.json");
    const before = JSON.parse(await readFile(stateFile, "utf8")).sync;
    const tokenless = await runCli(
      ["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir],
      {
        env: { ...env, GITHUB_TOKEN: "" },
      },
    );
    expect(tokenless.code).toBe(0);
    expect(tokenless.stderr).toContain("no GitHub token");
    const after = JSON.parse(await readFile(stateFile, "utf8")).sync;
    expect(after).toMatchObject({
      writeBudget: before.writeBudget,
      lastWriteAt: before.lastWriteAt,
      flusher: null,
      backoffUntil: before.backoffUntil,
      consecutiveFailures: 0,
    });
  });

  it("is this call's problem alone: a call configured for the run's API writes at once after it", async () => {
    const { cli, dir, gh, env } = await setup();
    const { gh: elsewhere } = await setup();
    expect((await cli("init", "--epic", "E", "--domains", "a,b", "--min-interval", "0")).code).toBe(0);
    const misconfigured = await runCli(
      ["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir],
      {
        env: { ...env, GITHUB_API_URL: elsewhere.url },
      },
    );
    expect(misconfigured.code).toBe(0);
    expect(misconfigured.stderr).toContain("the token is not sent to another");
    // No back-off for the run: the next call, configured for its API, brings the issue up to date.
    const fine = await cli("update", "b", "--status", "in_progress", "--files", "1/2");
    expect(fine.code, fine.stderr).toBe(0);
    await waitFor(() =>
      byKind(gh, "progress").some(
        (c) =>
          /\| b \| \S+ \| 🔄 In Progress \| 1\/2/.test(c.body) &&
          /\| a \| \S+ \| 🔄 In Progress \| 1\/2/.test(c.body),
      ),
    );
    expect(elsewhere.requests).toHaveLength(0);
  });
});

describe("--verbose", () => {
  it("says who takes a write due more than a minute away: the next command, retry or finalize", async () => {
    const { cli } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a", "--min-interval", "600000")).code).toBe(0);
    const update = await cli("update", "a", "--status", "in_progress", "--files", "1/2", "--verbose");
    expect(update.code).toBe(0);
    expect(update.stderr).toMatch(
      /GitHub: next write due at [\d:.]+ UTC, more than a minute away: left to the next command, retry or finalize/,
    );
  });
});
