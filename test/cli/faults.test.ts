import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { StatusView } from "../../src/model/status-view.js";
import {
  allFileText,
  type CliResult,
  flusherPids,
  pauseFlushers,
  queueFiles,
  repeatUntil,
  runCli,
  spawnCli,
  taskMd,
  waitFor,
} from "../support/cli.js";
import type { FakeGitHub, FakeGitHubOptions } from "../support/fake-github/index.js";
import { useFakeGitHub } from "../support/harness.js";
import { expectConvergedIssue, withoutMarker } from "../support/issue-truth.js";

/**
 * Issue #4, "Hostile networks: the issue always converges to the truth", as separate CLI processes: what
 * only a process shows (exit codes, the warning line, processes killed with SIGKILL). Each fault scenario
 * (5xx and dropped connections, a hanging API, deleted and duplicated comments, lost create responses,
 * 401, 403 locked, 404) runs in-process on a simulated clock in test/convergence/faults.test.ts, each
 * ending with exactly one progress comment (by the token's user, with this run's marker) showing the run
 * as `status` reports it, exactly one final summary, and an empty queue once GitHub is healthy; so does
 * the SIGKILL scenario here.
 */

const TOKEN = "ghp_faulttoken0123456789abcdefghijklmnopq";
const BAD_TOKEN = "ghp_wrongtoken0123456789abcdefghijklmnopq";
const LOGIN = "octo-bot";
const REPO = "acme/widgets";
const ISSUE = 123;
const FINAL = "## 🎉 Final Summary";

type Env = Record<string, string>;

/**
 * Saved in the run by `init`: no 1 s spacing between GitHub writes (the spacing is test/cli/footprint's). Not
 * in the SIGKILL test: there writes stay with the background writer, as agents' updates usually leave them.
 */
const FAST = ["--min-interval", "0"];
type Cli = (...args: string[]) => Promise<CliResult>;

// A fake GitHub and an epic per test, torn down after each (background writers first).
const fakeGitHub = useFakeGitHub(TOKEN, LOGIN);

async function setup(options: FakeGitHubOptions = {}, task = taskMd(ISSUE), extraArgs: string[] = []) {
  const { gh, dir, env } = await fakeGitHub({ fake: options, task });
  const as =
    (withEnv: Env): Cli =>
    (...args) =>
      runCli([...args, "--dir", dir, ...extraArgs], { env: withEnv, timeoutMs: 40_000 });
  return { gh, dir, env, cli: as(env), as };
}

async function statusJson(cli: Cli): Promise<StatusView> {
  const result = await cli("status", "--json");
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as StatusView;
}

/** The progress part of a `status --markdown` body (before the final summary), without the marker. */
function progressPart(markdown: string): string {
  const body = withoutMarker(markdown);
  const at = body.indexOf("\n\n## 🎉 Final Summary");
  return (at >= 0 ? body.slice(0, at) : body).trimEnd();
}

/** Runs `retry` until it exits 0 (bounded: a background writer may hold the run for a moment). */
function retryUntilDone(cli: Cli): Promise<CliResult> {
  return repeatUntil(
    () => cli("retry"),
    (result) => result.code === 0,
  );
}

/** Waits (bounded) until no background writer of this epic is running, so the issue is settled. */
async function settle(dir: string, timeoutMs = 15_000): Promise<void> {
  expect(await waitFor(async () => (await flusherPids(dir)).length === 0, timeoutMs, 100)).toBe(true);
}

/** The end state every scenario must reach once GitHub is healthy and the run finalized. */
async function expectConverged(gh: FakeGitHub, cli: Cli, dir: string): Promise<StatusView> {
  await settle(dir);
  const view = await statusJson(cli);
  const markdown = (await cli("status", "--markdown")).stdout;
  const expected = { progress: progressPart(markdown), final: withoutMarker(markdown) };
  await expectConvergedIssue(gh, { repo: REPO, issue: ISSUE, login: LOGIN }, view, expected, dir);
  return view;
}

function expectQueuedWarning(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toMatch(
    /parallel-progress: warning: GitHub: .*queued as comment_\d{8}_\d{6}_\d{6}\.json/,
  );
}

async function queueEntries(dir: string): Promise<Record<string, unknown>[]> {
  const names = await queueFiles(dir);
  return Promise.all(
    names.map(
      async (name) =>
        JSON.parse(await readFile(join(dir, ".github_parallel_queue", name), "utf8")) as Record<
          string,
          unknown
        >,
    ),
  );
}

describe("hostile networks, as processes: exit codes, warnings and kills", () => {
  it("GitHub trouble as a process shows it: one warning line, exit 0, no token; `retry` exits 3 until fixed", async () => {
    const { gh, cli, dir, as, env } = await setup();
    const bad = as({ ...env, GITHUB_TOKEN: BAD_TOKEN });

    // --verbose: the fullest output a user can ask for holds no token either.
    const init = await bad("init", "--epic", "EPIC-F6", "--domains", "a,b", "--verbose", ...FAST);
    expectQueuedWarning(init);
    expect(init.stderr).toMatch(/GITHUB_TOKEN|GH_TOKEN/);
    expect(init.stderr).toMatch(/401|bad credentials|rejected the token/i);
    expect(init.stderr + init.stdout).not.toContain(BAD_TOKEN);
    expect(init.stdout).toMatch(/^a\timpl-a-\d{6}\nb\timpl-b-\d{6}\n?$/);
    expect(await queueFiles(dir)).toHaveLength(1);
    const update = await bad("update", "a", "--status", "in_progress", "--files", "1/2");
    expect(update.code, update.stderr).toBe(0);
    expect((await queueFiles(dir)).length).toBeGreaterThan(0);
    const rejected = await bad("retry");
    expect(rejected.code).toBe(3);
    expect(rejected.stderr + rejected.stdout).not.toContain(BAD_TOKEN);
    expect(await allFileText(dir)).not.toContain(BAD_TOKEN);

    gh.lockIssue(REPO, ISSUE, true);
    const stillLocked = await cli("retry");
    expect(stillLocked.code).toBe(3);
    expect(stillLocked.stderr).toMatch(/locked/i);
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);

    gh.lockIssue(REPO, ISSUE, false);
    const retry = await retryUntilDone(cli);
    expect(retry.code, retry.stderr).toBe(0);
    expect(await queueFiles(dir)).toEqual([]);
    // The queued state is on the issue, once. The rest of the run converging after a 401 and after a
    // lock (later changes, finalize, one progress comment and one final summary showing the truth) is
    // test/convergence/faults.test.ts's ("401 bad credentials", "403 on a locked issue").
    const onIssue = gh.comments(REPO, ISSUE);
    expect(onIssue.map((c) => c.author)).toEqual([LOGIN]);
    expect(onIssue[0]!.body).toMatch(/\| a \| impl-a-\d{6} \| 🔄 In Progress \| 1\/2 \| 50% \|/);
  }, 60_000);

  it("an agent's last update and finalize's summary that meet a short outage reach the issue by the background writer, with no further command", async () => {
    const { gh, cli, dir } = await setup();
    const init = await cli("init", "--epic", "EPIC-BLIP", "--domains", "a", ...FAST);
    expect(init.code, init.stderr).toBe(0);
    const progress = () => gh.comments(REPO, ISSUE).filter((c) => !c.body.includes(FINAL));
    const finals = () => gh.comments(REPO, ISSUE).filter((c) => c.body.includes(FINAL));
    expect(progress()).toHaveLength(1);

    // Every attempt of the update's write fails (the client retries a 5xx twice); then the background
    // writer's first write meets a secondary rate limit of 4 s, which it waits out.
    gh.setFaults({
      script: [
        { status: 503, method: "PATCH", times: 3 },
        {
          status: 429,
          method: "PATCH",
          headers: { "retry-after": "4" },
          message: "You have exceeded a secondary rate limit",
        },
      ],
    });
    expectQueuedWarning(await cli("update", "a", "--status", "in_progress", "--files", "1/2"));
    const shown = () => progress()[0]?.body.includes("| 🔄 In Progress | 1/2 | 50% |") ?? false;
    expect(await waitFor(shown, 30_000, 100)).toBe(true);

    // The summary's create answered 502 (it may have been made: looked up, not there, not sent again).
    gh.setFaults({ script: [{ status: 502, method: "POST", times: 1 }] });
    expectQueuedWarning(await cli("finalize", "--summary", "merged after a blip"));
    expect(await waitFor(() => finals().length > 0, 30_000, 100)).toBe(true);
    expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 30_000, 100)).toBe(true);
    expect(finals()).toHaveLength(1);
    expect(finals()[0]!.body).toContain("merged after a blip");
    expect(progress()).toHaveLength(1);
    expect((await statusJson(cli)).sync.finalPosted).toBe(true);
    expect(await queueFiles(dir)).toEqual([]);
  }, 90_000);

  it("finalize behind a background writer's lease whose process then dies: the final summary still reaches the issue", async () => {
    const { gh, cli, dir } = await setup();
    expect((await cli("init", "--epic", "EPIC-DEAD", "--domains", "a", "--min-interval", "3000")).code).toBe(
      0,
    );
    // The agent's change is left to the background writer (due in 3 s), whose request GitHub holds 12 s.
    gh.setFaults({ latencyMs: 12_000 });
    expect((await cli("update", "a", "--status", "in_progress", "--files", "1/2")).code).toBe(0);
    const state = async () =>
      JSON.parse(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8")) as {
        sync: { lease: { owner: string } | null };
      };
    expect(await waitFor(async () => (await state()).sync.lease !== null, 20_000, 50)).toBe(true);
    // Stopped with the lease (as a runner ending its job stops it, then kills it), GitHub well again.
    const dying = await flusherPids(dir);
    await pauseFlushers(dir);
    gh.setFaults({ latencyMs: 0 });
    const finalize = await cli("finalize", "--summary", "done despite a dead writer");
    expect(finalize.code, finalize.stderr).toBe(0);
    expect(finalize.stderr).toMatch(/post\(s\) remain to be sent/);
    for (const pid of dying) process.kill(pid, "SIGKILL");
    const finals = () => gh.comments(REPO, ISSUE).filter((c) => c.body.includes(FINAL));
    expect(await waitFor(() => finals().length > 0, 45_000, 100)).toBe(true);
    expect(await waitFor(async () => (await flusherPids(dir)).length === 0, 45_000, 100)).toBe(true);
    expect(finals()).toHaveLength(1);
    expect(finals()[0]!.body).toContain("done despite a dead writer");
  }, 120_000);

  it("status does not say up to date while the final summary is not on the issue", async () => {
    const { gh, cli } = await setup();
    expect((await cli("init", "--epic", "EPIC-NOFINAL", "--domains", "a", ...FAST)).code).toBe(0);
    // The progress comment is written; the summary's post is refused for good (a 403: nothing posts it
    // until a later command).
    gh.setFaults({
      script: [{ status: 403, method: "POST", message: "Resource not accessible by integration" }],
    });
    expectQueuedWarning(await cli("finalize", "--summary", "done"));
    const status = await cli("status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^GitHub: .*#issuecomment-\d+; .*final summary not on the issue yet; /m);
    expect(status.stdout).not.toContain("up to date");
  }, 60_000);

  it("404 on a missing repository (--repo acme/nope): says not found, exit 0, queued", async () => {
    const { gh, cli, dir } = await setup({}, taskMd(ISSUE), ["--repo", "acme/nope"]);
    const init = await cli("init", "--epic", "EPIC-F7c", "--domains", "a", ...FAST);
    expectQueuedWarning(init);
    expect(init.stderr).toMatch(/not found/i);
    expect(init.stderr).toMatch(/acme\/nope/);
    expect((await cli("complete", "a")).code).toBe(0);
    const entries = await queueEntries(dir);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry.repo).toBe("acme/nope");
    expect(gh.comments(REPO, ISSUE)).toHaveLength(0);
  }, 60_000);

  it("processes killed with SIGKILL at random moments: state stays valid and true, the issue converges", async () => {
    const { gh, cli, dir, env } = await setup();
    const domains = ["d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"];
    const init = await cli("init", "--epic", "EPIC-F8", "--domains", domains.join(","));
    expect(init.code, init.stderr).toBe(0);
    const agentState = (view: StatusView) =>
      new Map(view.agents.map((a) => [a.domain, `${a.status} ${a.filesCompleted}/${a.filesTotal}`]));
    let known = agentState(await statusJson(cli));

    // A small deterministic PRNG, so a failing round can be replayed.
    let seed = 0x51f;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const rounds = 4;
    let killedAny = 0;
    for (let round = 1; round <= rounds; round++) {
      const wanted = new Map(domains.map((d, i) => [d, `in_progress ${round}/${10 + i}`]));
      const running = domains.map((domain, i) =>
        spawnCli(
          ["update", domain, "--status", "in_progress", "--files", `${round}/${10 + i}`, "--dir", dir],
          { env, timeoutMs: 30_000 },
        ),
      );
      const victims = new Set<number>();
      while (victims.size < domains.length / 2) victims.add(Math.floor(random() * domains.length));
      const timers = [...victims].map((index) =>
        setTimeout(() => running[index]!.child.kill("SIGKILL"), 20 + Math.floor(random() * 280)),
      );
      const results = await Promise.all(running.map((r) => r.done));
      for (const timer of timers) clearTimeout(timer);

      const status = await cli("status", "--json");
      expect(status.code, `round ${round}: status after kills: ${status.stderr}`).toBe(0);
      const view = JSON.parse(status.stdout) as StatusView;
      const now = agentState(view);
      results.forEach((result, index) => {
        const domain = domains[index]!;
        if (result.signal === "SIGKILL") {
          killedAny++;
          // Killed: either its change landed whole, or not at all.
          expect([known.get(domain), wanted.get(domain)], `round ${round}: ${domain} (killed)`).toContain(
            now.get(domain),
          );
        } else {
          expect(result.code, `round ${round}: ${domain}: ${result.stderr}`).toBe(0);
          expect(now.get(domain), `round ${round}: ${domain} (completed)`).toBe(wanted.get(domain));
        }
      });
      known = now;
    }
    expect(killedAny, "some processes really were killed").toBeGreaterThan(0);

    // The next commands work (all at once, as the agents would finish).
    await Promise.all(
      domains.map(async (domain) => {
        const result = await cli("complete", domain);
        expect(result.code, `complete ${domain}: ${result.stderr}`).toBe(0);
      }),
    );
    const finalize = await cli("finalize", "--summary", "survived");
    expect(finalize.code, finalize.stderr).toBe(0);
    const retry = await retryUntilDone(cli);
    expect(retry.code, retry.stderr).toBe(0);
    const view = await expectConverged(gh, cli, dir);
    expect(view.agents.every((a) => a.status === "completed")).toBe(true);
  }, 60_000);
});
