import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { agentIdBase, assignAgentIds } from "../../src/model/agent-ids.js";
import {
  applyCancel,
  applyComplete,
  applyFail,
  applyFinalize,
  applyLog,
  applyProgress,
  assertActive,
  createRun,
  findAgent,
  makeRunId,
} from "../../src/model/run.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

const at = Date.parse("2025-10-19T16:30:00Z");
const run = () =>
  createRun({
    epicId: "EPIC-007",
    domains: ["backend", "frontend", "tests"],
    now: at,
    github,
    nonce: "ab12",
  });

describe("agent ids", () => {
  it("follows the guide: impl-{3 chars}-{HHMMSS}", () => {
    expect(agentIdBase("backend", new Date(at))).toBe("impl-bac-163000");
    expect(agentIdBase("Frontend", new Date(at))).toBe("impl-fro-163000");
    expect(agentIdBase("ui", new Date(at))).toBe("impl-ui-163000");
  });

  it("makes unsafe characters safe and ids unique", () => {
    expect(agentIdBase("a|b c", new Date(at))).toBe("impl-axb-163000");
    expect(assignAgentIds(["backend", "backup", "bac", "Backend2"], new Date(at))).toEqual([
      "impl-bac-163000",
      "impl-bac-163000-2",
      "impl-bac-163000-3",
      "impl-bac-163000-4",
    ]);
  });

  it("never gives again an id of the run replaced, nor one below it in its base's suffixes", () => {
    const now = new Date(at);
    const first = assignAgentIds(["backend", "frontend"], now);
    const second = assignAgentIds(["backend", "frontend", "qa"], now, first);
    expect(second).toEqual(["impl-bac-163000-2", "impl-fro-163000-2", "impl-qa-163000"]);
    // A third run in the same second takes the suffix after the second's, not the first's ids again.
    expect(assignAgentIds(["backend", "qa"], now, second)).toEqual(["impl-bac-163000-3", "impl-qa-163000-2"]);
    // Another second, or ids not made so (a state edited by hand): nothing reserved but the ids themselves.
    expect(assignAgentIds(["backend"], new Date(at + 1000), second)).toEqual(["impl-bac-163001"]);
    expect(assignAgentIds(["backend"], now, ["impl-bac-163000-01", "x"])).toEqual(["impl-bac-163000"]);
  });

  it("never gives an id that is a domain of the run, the agent's own or another's", () => {
    const now = new Date(at);
    // `a` would get impl-a-163000, the next domain itself: the name would be ambiguous, and `a` could
    // not report by its id. A domain that looks like a suffixed id reserves nothing below it.
    expect(assignAgentIds(["a", "impl-a-163000"], now)).toEqual(["impl-a-163000-2", "impl-imp-163000"]);
    expect(assignAgentIds(["impl-imp-163000"], now)).toEqual(["impl-imp-163000-2"]);
    expect(assignAgentIds(["a", "b", "impl-a-163000-2"], now, [], ["impl-a-163000"])).toEqual([
      "impl-a-163000-3",
      "impl-b-163000",
      "impl-imp-163000",
    ]);
  });

  it("stays unique for many colliding domains", () => {
    const domains = Array.from({ length: 1500 }, (_, i) => `same-prefix-${i}`);
    expect(new Set(assignAgentIds(domains, new Date(at))).size).toBe(1500);
  });
});

describe("run transitions", () => {
  it("creates pending agents and a safe run id", () => {
    const state = run();
    expect(Object.keys(state.agents)).toEqual(["impl-bac-163000", "impl-fro-163000", "impl-tes-163000"]);
    expect(state.runId).toBe("EPIC-007-20251019T163000Z-ab12");
    expect(makeRunId("épic 7 | x", new Date(at), "ff")).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(state.seq).toBe(1);
    expect(state.event).toBe("Parallel execution initialized");
  });

  it("updates by agent id or domain and bumps seq", () => {
    let state = applyProgress(
      run(),
      "impl-bac-163000",
      { status: "in_progress", filesCompleted: 3, filesTotal: 7 },
      at + 1000,
    );
    state = applyProgress(
      state,
      "frontend",
      { status: "pending", filesCompleted: 0, filesTotal: 5 },
      at + 2000,
    );
    expect(state.seq).toBe(3);
    expect(state.agents["impl-bac-163000"]).toMatchObject({
      status: "in_progress",
      filesCompleted: 3,
      filesTotal: 7,
    });
    expect(state.agents["impl-bac-163000"]!.startedAt).toBe(new Date(at + 1000).toISOString());
    expect(state.agents["impl-fro-163000"]!.startedAt).toBeNull();
    expect(state.event).toBe("Agent impl-fro-163000 progress updated");
  });

  it("refuses done > total and unknown agents with a clear message", () => {
    expect(() =>
      applyProgress(run(), "backend", { status: "in_progress", filesCompleted: 9, filesTotal: 7 }, at),
    ).toThrow(/cannot exceed the total \(7\)/);
    expect(() => findAgent(run(), "nope")).toThrow(UsageError);
    expect(() => findAgent(run(), "nope")).toThrow(/unknown agent "nope"/);
    expect(findAgent(run(), "BACKEND").agentId).toBe("impl-bac-163000");
  });

  it("completes with all files done, fails with a reason, finalizes", () => {
    let state = applyProgress(
      run(),
      "backend",
      { status: "in_progress", filesCompleted: 3, filesTotal: 7 },
      at,
    );
    state = applyComplete(state, "backend", "done", at + 60_000);
    expect(state.agents["impl-bac-163000"]).toMatchObject({
      status: "completed",
      filesCompleted: 7,
      summary: "done",
    });
    expect(state.event).toBe("Agent impl-bac-163000 completed");
    state = applyFail(state, "tests", "Compilation error", at + 70_000);
    expect(state.agents["impl-tes-163000"]).toMatchObject({ status: "failed", error: "Compilation error" });
    // Straight from pending, never heard of since the run started: it worked from then, not for no time.
    expect(state.agents["impl-tes-163000"]!.startedAt).toBe(new Date(at).toISOString());
    expect(applyComplete(state, "frontend", null, at + 80_000).agents["impl-fro-163000"]!.startedAt).toBe(
      new Date(at).toISOString(),
    );
    const logged = applyLog(state, "frontend", "reading the spec", at + 5000);
    const done = applyProgress(
      logged,
      "frontend",
      { status: "completed", filesCompleted: 5, filesTotal: 5 },
      at + 9000,
    );
    expect(done.agents["impl-fro-163000"]!.startedAt).toBe(new Date(at + 5000).toISOString());
    state = applyFinalize(state, "merged", at + 720_000);
    expect(state.completedAt).toBe(new Date(at + 720_000).toISOString());
    expect(state.event).toBe("Parallel execution completed");
    expect(() => assertActive(state)).toThrow(/was finalized/);
    expect(() => assertActive(null)).toThrow(/no run here/);
    expect(() => assertActive(null, "/e")).toThrow("no run here (/e): start one with");
    // A database store's run is named by its epic and database (no password), and --dir is beside the point.
    expect(() => assertActive(null, { database: "postgresql://u@h:5432/db", epicId: "NOPE" })).toThrow(
      /^no run of epic "NOPE" in postgresql:\/\/u@h:5432\/db: start one with `parallel-progress init --epic <id> --domains <a,b,c>`, or check --epic and --store$/,
    );
  });

  it("cancels with a reason and keeps the newest events per agent", () => {
    let state = applyCancel(run(), "tests", "not needed", at + 5000);
    expect(state.agents["impl-tes-163000"]).toMatchObject({ status: "cancelled", error: "not needed" });
    expect(state.agents["impl-tes-163000"]!.finishedAt).toBe(new Date(at + 5000).toISOString());
    expect(state.event).toBe("Agent impl-tes-163000 cancelled");
    const seq = state.seq;
    for (let i = 1; i <= 12; i++) state = applyLog(state, "backend", `step ${i}`, at + i * 1000);
    const events = state.agents["impl-bac-163000"]!.events;
    expect(events.map((e) => e.message)).toEqual([
      "step 3",
      "step 4",
      "step 5",
      "step 6",
      "step 7",
      "step 8",
      "step 9",
      "step 10",
      "step 11",
      "step 12",
    ]);
    expect(state.seq).toBe(seq + 12);
    expect(state.event).toBe("Agent impl-tes-163000 cancelled");
  });

  it("refuses update, complete and fail of a cancelled agent (it does no more work); a second cancel is taken", () => {
    const cancelled = applyCancel(run(), "tests", "not needed", at + 5000);
    const refused = /^impl-tes-163000 was cancelled and takes no (update|complete|fail): /;
    expect(() => applyProgress(cancelled, "tests", { status: "in_progress" }, at + 6000)).toThrow(refused);
    expect(() => applyComplete(cancelled, "tests", null, at + 6000)).toThrow(refused);
    expect(() => applyFail(cancelled, "tests", "crashed", at + 6000)).toThrow(refused);
    const again = applyCancel(cancelled, "tests", "superseded", at + 7000, { costUsd: 0.3 });
    expect(again.agents["impl-tes-163000"]).toMatchObject({
      status: "cancelled",
      error: "superseded",
      costUsd: 0.3,
    });
    // Its cost alone (`cancel tests --cost 0.5`): the reason stays.
    const costed = applyCancel(again, "tests", null, at + 8000, { costUsd: 0.5 });
    expect(costed.agents["impl-tes-163000"]).toMatchObject({ error: "superseded", costUsd: 0.5 });
    // A failed agent cancelled without a reason keeps its failure's.
    const failed = applyFail(run(), "tests", "flaky runner", at + 5000);
    expect(applyCancel(failed, "tests", null, at + 6000).agents["impl-tes-163000"]!.error).toBe(
      "flaky runner",
    );
    // A first cancel without a reason has none.
    expect(applyCancel(run(), "tests", null, at + 5000).agents["impl-tes-163000"]!.error).toBeNull();
  });
});
