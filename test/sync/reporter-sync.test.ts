import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { GitHubError } from "../../src/errors.js";
import { parseMarker } from "../../src/render/marker.js";
import { createParallelReporter } from "../../src/reporter.js";
import { MemoryClient } from "../support/memory-client.js";

const TASK = `---
github:
  issue_number: 123
  repo: acme/widgets
---
# Epic
`;

function setup(options: { task?: string; commentMode?: "edit" | "append" } = {}) {
  const volume = Volume.fromJSON({ "/epic/task.md": options.task ?? TASK });
  const fs = createFsFromVolume(volume);
  let now = Date.parse("2025-10-19T16:30:00Z");
  const clock = { now: () => now };
  // Sleeps end when the test moves time forward (or at once with instantSleep), like fake timers.
  let waiters: { at: number; wake: () => void }[] = [];
  let instantSleep = true;
  const advance = async (ms: number) => {
    now += ms;
    const due = waiters.filter((w) => w.at <= now);
    waiters = waiters.filter((w) => w.at > now);
    for (const waiter of due) waiter.wake();
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  const client = new MemoryClient();
  const warnings: string[] = [];
  const make = () =>
    createParallelReporter("/epic", {
      fs,
      clock,
      env: {},
      client,
      sleep: (ms) => {
        if (!instantSleep) return new Promise<void>((wake) => waiters.push({ at: now + ms, wake }));
        now += ms;
        return Promise.resolve();
      },
      onWarning: (m) => warnings.push(m),
      ...(options.commentMode ? { github: { commentMode: options.commentMode } } : {}),
    });
  return {
    fs,
    volume,
    client,
    warnings,
    make,
    advance,
    realTimers: (on: boolean) => {
      instantSleep = !on;
    },
  };
}

const progressComments = (client: MemoryClient) =>
  client.comments.filter((c) => parseMarker(c.body)?.kind === "progress");
/** Append mode's comments: one per write, each marked as the run's history. */
const historyComments = (client: MemoryClient) =>
  client.comments.filter((c) => parseMarker(c.body)?.kind === "history");
const finalComments = (client: MemoryClient) =>
  client.comments.filter((c) => parseMarker(c.body)?.kind === "final");

describe("reporter with an injected client, fs and clock", () => {
  it("posts one progress comment, coalesces a burst, and posts the final summary once", async () => {
    const { client, make, advance, realTimers } = setup();
    const reporter = make();
    const agents = await reporter.initializeParallelTracking("EPIC-007", ["backend", "frontend", "tests"]);
    expect(agents.map((a) => a.agentId)).toEqual(["impl-bac-163000", "impl-fro-163000", "impl-tes-163000"]);
    // A new run has no comment yet: one create, no lookup (the created comment says who the token is).
    expect(client.calls).toEqual(["create"]);

    realTimers(true);
    await advance(100);
    for (let i = 1; i <= 7; i++) await reporter.updateAgentProgress("impl-bac-163000", "in_progress", i, 7);
    expect(client.calls.filter((c) => c.startsWith("update"))).toEqual([]); // not due yet: nobody waited
    let flushed = false;
    const flushing = reporter.flush().then(() => {
      flushed = true;
    });
    for (let i = 0; i < 50 && !flushed; i++) await advance(250);
    await flushing;
    realTimers(false);
    expect(progressComments(client)).toHaveLength(1);
    expect(client.calls.filter((c) => c.startsWith("update"))).toHaveLength(1); // the burst became one write
    expect(client.comments[0]!.body).toContain("| backend | impl-bac-163000 | 🔄 In Progress | 7/7 | 99% |"); // done once completed

    await reporter.markAgentComplete("backend", "done");
    await reporter.markAgentFailed("tests", "Compilation error in main.py");
    await reporter.flush();
    const before = client.calls.length;
    const first = await reporter.finalizeParallelExecution("All merged.");
    expect(first).toMatchObject({ finalizedNow: true, posted: true, queued: 0 });
    // One lookup (for duplicates and an earlier final summary), the final edit, the summary: no second read.
    const id = progressComments(client)[0]!.id;
    expect(client.calls.slice(before)).toEqual(["list", `update:${id}`, "create"]);
    expect(finalComments(client)).toHaveLength(1);
    expect(progressComments(client)[0]!.body).toContain("**Parallel execution completed**");
    const again = await reporter.finalizeParallelExecution("All merged.");
    expect(again).toMatchObject({ finalizedNow: false, posted: true });
    expect(finalComments(client)).toHaveLength(1);
    expect(progressComments(client)).toHaveLength(1);
  });

  it("queues when GitHub fails and converges on retry, never losing the latest state", async () => {
    const { client, make, advance, warnings, fs } = setup();
    const reporter = make();
    client.failNext(new GitHubError("GitHub did not answer within 8 s", { kind: "timeout" }));
    await reporter.initializeParallelTracking("E", ["a", "b"]);
    expect(warnings[0]).toMatch(/did not answer.*queued as comment_\d{8}_\d{6}_\d{6}\.json/);
    expect(client.comments).toHaveLength(0);
    await advance(100);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2); // in backoff: recorded, not sent
    await reporter.flush(); // the background writer writes the latest state once the back-off ends
    const queue = "/epic/.github_parallel_queue";
    expect((await fs.promises.readdir(queue)).map(String).filter((n) => n.startsWith("comment_"))).toEqual(
      [],
    );
    const sent = await reporter.retryOfflineQueue();
    expect(sent).toBe(0); // nothing left: the write cleared the entry it made superfluous
    expect(progressComments(client)).toHaveLength(1);
    expect(client.comments[0]!.body).toContain("| a | impl-a-163000 | 🔄 In Progress | 1/2 | 50% |");
    const left = (await fs.promises.readdir("/epic/.github_parallel_queue")).map(String);
    expect(left.filter((name) => name.startsWith("comment_"))).toEqual([]);
  });

  it("recreates a deleted progress comment and converges duplicates at finalize (oldest stays)", async () => {
    const { client, make, advance } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    client.comments = [];
    await advance(2000);
    await reporter.updateAgentProgress("a", "in_progress", 1, 3);
    expect(progressComments(client)).toHaveLength(1);
    const keep = client.comments[0]!;
    client.add(keep.body, "octo-bot"); // a duplicate by the token user
    client.add(keep.body, "someone-else"); // a copy by somebody else: never touched
    await advance(2000);
    await reporter.finalizeParallelExecution("ok");
    expect(progressComments(client).map((c) => c.id)).toEqual([keep.id, client.comments[1]!.id]);
    expect(progressComments(client).filter((c) => c.author === "octo-bot")).toHaveLength(1);
  });

  it("does not duplicate a create whose answer was lost", async () => {
    const { client, make } = setup();
    client.loseNextCreate = true;
    await make().initializeParallelTracking("E", ["a"]);
    expect(progressComments(client)).toHaveLength(1);
  });

  it("tracks locally without an issue, and never calls GitHub", async () => {
    const { client, make } = setup({ task: "---\ntitle: x\n---\n" });
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.updateAgentProgress("a", "in_progress", 1, 1);
    const result = await reporter.finalizeParallelExecution("done");
    expect(result).toMatchObject({ posted: false, queued: 0 });
    expect(client.calls).toEqual([]);
  });

  it("appends one comment per write in append mode", async () => {
    const { client, make, advance } = setup({ commentMode: "append" });
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    await advance(1500);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    await advance(1500);
    await reporter.markAgentComplete("a", "ok");
    expect(historyComments(client)).toHaveLength(3);
  });

  it("writes github.last_synced into task.md after a successful finalize, keeping every other byte", async () => {
    const { make, fs } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    await reporter.finalizeParallelExecution("ok");
    const text = String(await fs.promises.readFile("/epic/task.md", "utf8"));
    const lines = text.split("\n");
    expect(lines[4]).toMatch(/^ {2}last_synced: 2025-10-19T16:3\d:\d\d$/);
    expect(lines.filter((_, i) => i !== 4).join("\n")).toBe(TASK);
  });
});

describe("reporter events", () => {
  it("notifies listeners on every change and on completion, failure and cancellation", async () => {
    const { make } = setup({ task: "---\ntitle: local\n---\n" });
    const reporter = make();
    const seen: string[] = [];
    reporter.on("change", (state) => seen.push(`change:${state.seq}`));
    reporter.on("agentCompleted", (agent) => seen.push(`completed:${agent.domain}`));
    reporter.on("agentFailed", (agent, state) => seen.push(`failed:${agent.domain}:${state.seq}`));
    reporter.on("agentCancelled", (agent) => seen.push(`cancelled:${agent.domain}:${agent.error}`));
    await reporter.initializeParallelTracking("E", ["a", "b", "c"]);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    await reporter.markAgentComplete("a", "ok");
    await reporter.markAgentComplete("a", "again"); // already completed: no second completion event
    await reporter.markAgentFailed("b", "boom");
    await reporter.cancelAgent("c", "not needed");
    await reporter.logAgentEvent("a", "note");
    expect(seen).toEqual([
      "change:1",
      "change:2",
      "change:3",
      "completed:a",
      "change:4",
      "change:5",
      "failed:b:5",
      "change:6",
      "cancelled:c:not needed",
      "change:7",
    ]);
  });
});

describe("review fixes", () => {
  it("replays a failed append-mode post once, never twice for the same snapshot", async () => {
    const { client, make, advance } = setup({ commentMode: "append" });
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    await advance(1500);
    client.failNext(new GitHubError("GitHub answered 500", { kind: "server", status: 500 }));
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    expect(historyComments(client)).toHaveLength(1);
    expect(await reporter.retryOfflineQueue()).toBe(1);
    const seqs = historyComments(client).map((c) => parseMarker(c.body)?.seq);
    expect(seqs).toEqual([1, 2]);
    await reporter.retryOfflineQueue();
    expect(historyComments(client).map((c) => parseMarker(c.body)?.seq)).toEqual([1, 2]);
  });

  it("records last_synced when a queued final summary is delivered by a later retry, and its URL", async () => {
    const { client, make, fs } = setup();
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a"]);
    client.down = new GitHubError("down", { kind: "server" });
    const result = await reporter.finalizeParallelExecution("ok");
    client.down = null;
    expect(result.posted).toBe(false);
    expect(String(await fs.promises.readFile("/epic/task.md", "utf8"))).not.toContain("last_synced");
    await reporter.retryOfflineQueue();
    expect(finalComments(client)).toHaveLength(1);
    expect(String(await fs.promises.readFile("/epic/task.md", "utf8"))).toMatch(/ {2}last_synced: \d{4}-/);
    const again = await reporter.finalizeParallelExecution("ok");
    expect(again.finalCommentUrl).toBe(finalComments(client)[0]!.htmlUrl);
    expect(again.commentUrl).toBe(progressComments(client)[0]!.htmlUrl);
  });

  it("honours the stall threshold given at init", async () => {
    const { make, advance } = setup({ task: "---\ntitle: local\n---\n" });
    const reporter = make();
    await reporter.initializeParallelTracking("E", ["a", "b"], undefined, { stallAfterMs: 60_000 });
    expect(reporter.executionState.stallAfterMs).toBe(60_000);
    await advance(30_000);
    await reporter.updateAgentProgress("a", "in_progress", 1, 2);
    await advance(40_000);
    const view = await reporter.status();
    expect(view.agents.map((agent) => agent.stalled)).toEqual([false, true]);
    expect(view.countsText).toBe("1 pending, 1 running, 0 completed, 0 failed, 1 stalled");
  });
});

describe("the library's caller mistakes", () => {
  it("bad domains are refused with the library's wording (a UsageError naming `domains`), state untouched", async () => {
    const { make, volume } = setup();
    const reporter = make();
    await expect(reporter.initializeParallelTracking("E", ["api", "web", "api"])).rejects.toThrow(
      'initializeParallelTracking: domains lists "api" more than once, got ["api","web","api"]',
    );
    await expect(reporter.initializeParallelTracking("E", [])).rejects.toThrow(
      /^initializeParallelTracking: domains: at least one domain is required, got \[\]$/,
    );
    expect(Object.keys(volume.toJSON())).toEqual(["/epic/task.md"]);
  });
});
