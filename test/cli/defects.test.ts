import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import { stateToText, trustedState } from "../../src/store/state-text.js";
import { queueFiles, repeatUntil, runCli, waitFor } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";

/** Issue 11: what only the CLI's own process shows (its stderr line and exit code). */

const fakeGitHub = useFakeGitHub("ghp_defects0123456789abcdefghijklmnopqrst");

describe("retry during a long rate limit", () => {
  it("exits 3 with one line on stderr saying until when the posts stay queued", async () => {
    const { gh, cli, dir } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
    const reset = Math.floor(Date.now() / 1000) + 3600;
    gh.setFaults({
      script: [
        {
          status: 403,
          message: "API rate limit exceeded for user ID 1.",
          headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
          times: Number.POSITIVE_INFINITY,
        },
      ],
    });
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
    expect(update.code).toBe(0);
    expect(await queueFiles(dir)).toHaveLength(1);
    const retry = await cli("retry");
    expect(retry.code).toBe(3);
    const until = new Date(reset * 1000).toISOString().replace(".000Z", "Z");
    expect(retry.stderr.trim().split("\n")).toEqual([
      `parallel-progress: warning: GitHub rate limit: 1 post(s) stay queued until ${until}; run \`parallel-progress retry\` after that`,
    ]);
    // finalize says the same of what it leaves queued, not a bare "run retry later" no retry can do yet.
    const finalize = await cli("finalize", "--summary", "done");
    expect(finalize.code).toBe(0);
    expect(finalize.stderr.trim().split("\n").at(-1)).toBe(
      `parallel-progress: warning: GitHub rate limit: 2 post(s) stay queued until ${until}; run \`parallel-progress retry\` after that`,
    );
  });
});

describe("a wait in the run state further than an hour away", () => {
  // Written by a build before the hour's cap (or an older client on a shared database).
  it.each([
    ["years away (2100)", 4_102_444_800_000],
    ["past what a date holds", 1e20],
  ])("%s is waited an hour from the first command that reads it, as a GitHub answer is", async (_, until) => {
    const { cli, dir } = await fakeGitHub();
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    const stateFile = join(dir, ".parallel-progress", "state.json");
    // Written as the store writes it (a hand's edit is checked: a time past what a date holds is refused).
    const state = trustedState(await readFile(stateFile, "utf8"))!;
    await writeFile(
      stateFile,
      stateToText({ ...state, sync: { ...state.sync, rateLimitedUntil: until, backoffUntil: until } }),
    );
    const hourFrom = (ms: number) => Math.round((ms + 60 * 60_000) / 1000) * 1000;
    const earliest = hourFrom(Date.now());
    const log = await cli("log", "a", "x");
    const latest = hourFrom(Date.now());
    expect(log.code, log.stderr).toBe(0);
    const held = JSON.parse(await readFile(stateFile, "utf8")).sync;
    expect(held.rateLimitedUntil).toBe(held.backoffUntil);
    expect(Math.round(held.rateLimitedUntil / 1000) * 1000).toBeGreaterThanOrEqual(earliest);
    expect(Math.round(held.rateLimitedUntil / 1000) * 1000).toBeLessThanOrEqual(latest);
    // The hour counts from that command: later ones say the same time.
    const at = new Date(Math.round(held.rateLimitedUntil / 1000) * 1000).toISOString().replace(".000Z", "Z");
    const finalize = await cli("finalize");
    expect(finalize.code, finalize.stderr).toBe(0);
    expect(finalize.stderr.trim().split("\n").at(-1)).toBe(
      `parallel-progress: warning: GitHub rate limit: 2 post(s) stay queued until ${at}; run \`parallel-progress retry\` after that`,
    );
    const retry = await cli("retry");
    expect(retry.code, retry.stderr).toBe(3);
    expect(retry.stderr.trim().split("\n")).toEqual([
      `parallel-progress: warning: GitHub rate limit: 2 post(s) stay queued until ${at}; run \`parallel-progress retry\` after that`,
    ]);
  });
});

describe("a time of the run's sync further ahead than it can be", () => {
  // An older build's or a hand's (2100), or what a clock stepped back a day leaves: each stopped the run's
  // writes until then. Held to what it can be (a lease 15 s ahead, a past write not ahead at all).
  const year2100 = 4_102_444_800_000;
  const day = 24 * 60 * 60_000;
  // They mostly wait (a held lease, a refilling budget): at once, each tearing its set-up down (test).
  it.concurrent.for<[string, (now: number) => Partial<RunState["sync"]>]>([
    ["the last write in 2100", () => ({ lastWriteAt: year2100 })],
    ["the last write a day ahead", (now) => ({ lastWriteAt: now + day })],
    ["the write budget spent in 2100", () => ({ writeBudget: { tokens: 0, at: year2100 } })],
    ["a write lease until 2100", () => ({ lease: { owner: "gone", expiresAt: year2100 } })],
    ["the queue-retry lock until 2100", () => ({ retryLock: { owner: "gone", expiresAt: year2100 } })],
    ["a late edit's repeat in 2100", () => ({ settleUntil: year2100 })],
  ])(
    "%s: the update reaches the issue without a further command, and retry works",
    { timeout: 60_000 },
    async ([, times], test) => {
      const { gh, cli, dir } = await fakeGitHub({ test });
      expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
      const stateFile = join(dir, ".parallel-progress", "state.json");
      const state = trustedState(await readFile(stateFile, "utf8"))!;
      await writeFile(stateFile, stateToText({ ...state, sync: { ...state.sync, ...times(Date.now()) } }));
      const update = await cli("update", "a", "--status", "in_progress", "--files", "1/3");
      expect(update.code, update.stderr).toBe(0);
      const status = await cli("status", "--json");
      expect(status.code, status.stderr).toBe(0);
      const { seq, settleUntil } = JSON.parse(status.stdout).sync as {
        seq: number;
        settleUntil: string | null;
      };
      expect(Date.parse(settleUntil ?? "1970-01-01T00:00:00Z")).toBeLessThanOrEqual(Date.now() + 15_000);
      const shown = () =>
        gh.comments("acme/widgets", 123).some((comment) => parseMarker(comment.body)?.seq === seq);
      // A lease held to 15 s from the update runs out first; a spent budget refills one write in 10 s.
      expect(await waitFor(shown, 30_000)).toBe(true);
      // The queue-retry lock held to 15 s from the update: a retry in them waits, one after them takes it.
      const retry = await repeatUntil(
        () => cli("retry"),
        (result) => result.code === 0 && result.stderr === "",
        30_000,
      );
      expect(retry.code, retry.stderr).toBe(0);
      expect(retry.stderr).toBe(""); // not "another retry held the queue …: nothing sent"
    },
  );
});

describe("another issue given to a later command", () => {
  it("is refused with exit 2 and one line naming both issues; the run is untouched", async () => {
    const { cli, dir } = await fakeGitHub({
      fake: {
        issues: [
          { repo: "acme/widgets", number: 123 },
          { repo: "acme/widgets", number: 65 },
        ],
      },
    });
    expect((await cli("init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
    const stateFile = join(dir, ".parallel-progress", "state.json");
    const before = await readFile(stateFile, "utf8");
    const update = await cli("update", "a", "--status", "in_progress", "--files", "1/2", "--issue", "65");
    expect(update.code).toBe(2);
    expect(update.stderr.trim().split("\n")).toHaveLength(1);
    expect(update.stderr).toMatch(
      /--issue names acme\/widgets#65, but run \S+ \(epic E\) posts to acme\/widgets#123/,
    );
    expect(await readFile(stateFile, "utf8")).toBe(before);
  });
});

describe("another repository given to a later command", () => {
  const noRepository = { GITHUB_REPOSITORY: "" };

  it("is refused with exit 2 and one line naming both, from --repo or task.md, though the run has no issue yet", async () => {
    const { cli, dir, env, gh } = await fakeGitHub({ task: null });
    const run = (...args: string[]) => runCli([...args, "--dir", dir], { env: { ...env, ...noRepository } });
    const init = await run("init", "--epic", "MV2", "--domains", "api", "--repo", "acme/widgets");
    expect(init.code, init.stderr).toBe(0);
    const stateFile = join(dir, ".parallel-progress", "state.json");
    const before = await readFile(stateFile, "utf8");

    const moved = await run("log", "api", "hello", "--repo", "other/x", "--issue", "5");
    expect(moved.code).toBe(2);
    expect(moved.stderr.trim().split("\n")).toHaveLength(1);
    expect(moved.stderr).toMatch(
      /--repo names other\/x, but run \S+ \(epic MV2\) belongs to acme\/widgets: a run stays in one repository/,
    );
    expect(await readFile(stateFile, "utf8")).toBe(before);

    // task.md naming another repository does not move a run whose repository a flag gave (a flag wins
    // over task.md): the change is made, with one warning.
    await writeFile(join(dir, "task.md"), "---\ngithub:\n  repo: other/x\n---\n# Epic\n");
    const edited = await run("update", "api", "--status", "in_progress");
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stderr.trim().split("\n")).toHaveLength(1);
    expect(edited.stderr).toMatch(
      /warning: task\.md github\.repo "other\/x" \(the run's: "acme\/widgets"\): the run keeps its own, given by a flag/,
    );
    expect(JSON.parse(await readFile(stateFile, "utf8")).github.repo).toBe("acme/widgets");
    await rm(join(dir, "task.md"));
    expect(gh.requests).toEqual([]);

    // The same repository as GitHub names it, case aside, is no move: the run keeps its spelling.
    expect((await run("log", "api", "same", "--repo", "ACME/Widgets")).code).toBe(0);
    // GITHUB_REPOSITORY comes after the run's own repository: another one there moves nothing.
    const elsewhere = await runCli(["log", "api", "from CI", "--issue", "5", "--dir", dir], {
      env: { ...env, GITHUB_REPOSITORY: "other/x" },
    });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    const status = JSON.parse((await cli("status", "--json")).stdout) as {
      repo: string;
      issueNumber: number;
    };
    expect([status.repo, status.issueNumber]).toEqual(["acme/widgets", 5]);
  });

  it("is refused from task.md edited mid-run when the run's repository came from task.md: one line, exit 2", async () => {
    const { dir, env } = await fakeGitHub({ task: "---\ngithub:\n  repo: acme/widgets\n---\n# Epic\n" });
    const run = (...args: string[]) => runCli([...args, "--dir", dir], { env: { ...env, ...noRepository } });
    expect((await run("init", "--epic", "MV3", "--domains", "api")).code).toBe(0);
    const stateFile = join(dir, ".parallel-progress", "state.json");
    const before = await readFile(stateFile, "utf8");
    await writeFile(join(dir, "task.md"), "---\ngithub:\n  repo: other/x\n---\n# Epic\n");
    const edited = await run("update", "api", "--status", "in_progress");
    expect(edited.code).toBe(2);
    expect(edited.stderr.trim().split("\n")).toHaveLength(1);
    expect(edited.stderr).toMatch(
      /task\.md github\.repo names other\/x, but run \S+ \(epic MV3\) belongs to acme\/widgets/,
    );
    expect(await readFile(stateFile, "utf8")).toBe(before);
  });

  it("is given to a run without one", async () => {
    const { dir, env } = await fakeGitHub({ task: null });
    const run = (...args: string[]) => runCli([...args, "--dir", dir], { env: { ...env, ...noRepository } });
    expect((await run("init", "--epic", "E", "--domains", "api")).code).toBe(0);
    const given = await run("log", "api", "hello", "--repo", "other/x");
    expect(given.code, given.stderr).toBe(0);
    const status = JSON.parse((await run("status", "--json")).stdout) as { repo: string | null };
    expect(status.repo).toBe("other/x");
  });
});
