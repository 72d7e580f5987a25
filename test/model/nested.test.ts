import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { overallProgress } from "../../src/model/progress.js";
import {
  applyAdd,
  applyCancel,
  applyComplete,
  applyFail,
  applyLog,
  applyProgress,
  createRun,
} from "../../src/model/run.js";
import { toStatusView } from "../../src/model/status-view.js";
import { leafAgents, MAX_DEPTH, treeOrder } from "../../src/model/tree.js";
import type { RunState } from "../../src/model/types.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

const t0 = Date.parse("2025-10-19T16:30:00Z");
const later = (seconds: number) => t0 + seconds * 1000;

const run = () =>
  createRun({
    epicId: "EPIC-7",
    domains: ["backend", "frontend"],
    now: t0,
    github,
    nonce: "ab12",
  });

/** backend > api > (auth, users); backend > db; frontend alone. */
function tree(): RunState {
  let state = applyAdd(run(), ["db", "api"], "backend", later(10)).state;
  state = applyAdd(state, ["users", "auth"], "api", later(20)).state;
  return state;
}

const byDomain = (state: RunState, domain: string) =>
  Object.values(state.agents).find((a) => a.domain === domain)!;

describe("adding agents", () => {
  it("adds pending agents at the top level or under a parent, with new unique ids", () => {
    const { state, added } = applyAdd(run(), ["bac", "docs"], null, later(0));
    expect(added.map((agent) => [agent.domain, agent.agentId, agent.status])).toEqual([
      ["bac", "impl-bac-163000-2", "pending"],
      ["docs", "impl-doc-163000", "pending"],
    ]);
    expect(state.seq).toBe(2);
    expect(state.event).toBe("2 agents added");
    const nested = applyAdd(state, ["api"], "backend", later(5));
    expect(nested.added[0]!.parentId).toBe("impl-bac-163000");
    expect(nested.state.event).toBe("Agent impl-api-163005 added under impl-bac-163000");
  });

  it("refuses a domain already in the run, a finished parent, a parent with files of its own, too deep", () => {
    const base = run();
    expect(() => applyAdd(base, ["frontend"], null, later(1))).toThrow(/domain "frontend" is already in run/);
    const done = applyComplete(base, "frontend", null, later(1));
    expect(() => applyAdd(done, ["x"], "frontend", later(2))).toThrow(/it is already completed/);
    const files = applyProgress(
      base,
      "backend",
      { status: "in_progress", filesCompleted: 1, filesTotal: 4 },
      t0,
    );
    expect(() => applyAdd(files, ["x"], "backend", later(2))).toThrow(UsageError);
    expect(() => applyAdd(files, ["x"], "backend", later(2))).toThrow(/reports files of its own \(1\/4\)/);
    expect(() => applyAdd(base, ["x"], "nobody", later(2))).toThrow(/unknown agent "nobody"/);
    let deep = base;
    let parent = "backend";
    for (let level = 1; level <= MAX_DEPTH; level++) {
      deep = applyAdd(deep, [`level${level}`], parent, later(level)).state;
      parent = `level${level}`;
    }
    expect(() => applyAdd(deep, ["too-deep"], parent, later(99))).toThrow(/at most 8 levels deep/);
  });

  it("refuses a domain that is an agent's id, and gives no id that is a domain of the run", () => {
    const base = run();
    // backend reports by its id: a domain equal to it would make that id ambiguous from then on.
    expect(() => applyAdd(base, ["docs", "impl-bac-163000"], "frontend", later(1))).toThrow(
      new UsageError(
        'domain "impl-bac-163000" is the id of agent impl-bac-163000 (backend) in run EPIC-7-20251019T163000Z-ab12: a domain may not be another agent\'s id (that agent could no longer be named by it); choose another domain',
      ),
    );
    // An id made later skips the run's domains, those already there and those added with it.
    const named = applyAdd(base, ["impl-doc-163001"], null, later(1)).state;
    const { added } = applyAdd(named, ["docs", "qa", "impl-qa-163001"], null, later(1));
    expect(added.map((agent) => agent.agentId)).toEqual([
      "impl-doc-163001-2",
      "impl-qa-163001-2",
      "impl-imp-163001-2",
    ]);
  });

  it("gives no id of the run replaced, nor of the one before it when they started in the same second", () => {
    const replace = (replaced: RunState, domains: string[], now: number) =>
      createRun({ epicId: "EPIC-7", domains, now, github, nonce: "cd34", replaced });
    // backend, frontend (impl-bac-163000, impl-fro-163000) replaced in that second by a run of qa, to which
    // backend is added in that second too: an agent of the first run reporting as impl-bac-163000 must
    // not change the new run's backend.
    const second = replace(run(), ["qa"], t0);
    expect(second.replacedAgentIds).toEqual(["impl-bac-163000", "impl-fro-163000"]);
    const added = applyAdd(second, ["backend"], null, t0).added;
    expect(added.map((agent) => agent.agentId)).toEqual(["impl-bac-163000-2"]);
    // A third run in that second: none of the first run's ids either, when made or added to.
    const third = replace(second, ["frontend"], t0);
    expect(Object.keys(third.agents)).toEqual(["impl-fro-163000-2"]);
    expect(applyAdd(third, ["backend"], null, t0).added[0]!.agentId).toBe("impl-bac-163000-2");
    // A run started a second later keeps only the ids of the run it replaces: the list does not grow.
    expect(replace(third, ["qa"], later(1)).replacedAgentIds).toEqual(["impl-fro-163000-2"]);
  });

  it("refuses a domain that is an id of the run replaced, when the run starts and when agents are added", () => {
    const replace = (replaced: RunState, domains: string[], now: number) =>
      createRun({ epicId: "EPIC-7", domains, now, github, nonce: "cd34", replaced });
    const first = run();
    // The first run's backend, reporting as impl-bac-163000, would move the new run's agent of that name.
    expect(() => replace(first, ["impl-bac-163000", "qa"], later(5))).toThrow(
      new UsageError(
        `domain "impl-bac-163000" is the id of agent impl-bac-163000 (backend) of run EPIC-7-20251019T163000Z-ab12, which this run replaces: a domain may not be such an id (that agent, still reporting by it, would change this run's agent); choose another domain`,
      ),
    );
    const second = replace(first, ["qa"], t0);
    expect(() => applyAdd(second, ["docs", "impl-fro-163000"], null, later(5))).toThrow(
      new UsageError(
        `domain "impl-fro-163000" is the id of an agent of a run that run EPIC-7-20251019T163000Z-cd34 replaced: a domain may not be such an id (that agent, still reporting by it, would change this run's agent); choose another domain`,
      ),
    );
    // A third run in that second refuses the first run's ids too.
    expect(() => replace(second, ["impl-fro-163000"], t0)).toThrow(
      /^domain "impl-fro-163000" is the id of an agent of a run that run EPIC-7-20251019T163000Z-cd34 \(which this run replaces\) replaced in the same second: /,
    );
    // An id of a run further back, started in an earlier second, is a domain like any other.
    expect(Object.values(replace(second, ["impl-fro-163000"], later(1)).agents)[0]!.domain).toBe(
      "impl-fro-163000",
    );
  });
});

describe("a parent's files are its children's sums, in the same change, at any depth", () => {
  it("shows a cancelled or failed parent below 100% while a child still works (100 means done)", () => {
    const report = (state: RunState, domain: string, status: "in_progress" | "completed", files: number) =>
      applyProgress(state, domain, { status, filesCompleted: files, filesTotal: files }, later(30));
    let state = report(tree(), "db", "in_progress", 4);
    state = report(state, "users", "completed", 2);
    state = report(state, "auth", "completed", 1);
    state = applyComplete(state, "api", null, later(33));
    for (const ended of [
      applyCancel(state, "backend", "descoped", later(40)),
      applyFail(state, "backend", "gave up", later(40)),
    ]) {
      const view = toStatusView(ended, later(41), 0);
      const progress = (domain: string) => view.agents.find((agent) => agent.domain === domain)!.progress;
      // backend 7/7 with db still running; api 3/3, completed with both children done.
      expect([progress("backend"), progress("db"), progress("api")]).toEqual([99, 99, 100]);
    }
  });

  it("starts a pending parent when its first child started, also a child timed from before its change", () => {
    // db (added at 10 s under backend) completes at 600 s without a report before: it worked since 10 s.
    const state = applyComplete(tree(), "db", null, later(600));
    expect(byDomain(state, "db").startedAt).toBe(new Date(later(10)).toISOString());
    expect(byDomain(state, "backend").startedAt).toBe(new Date(later(10)).toISOString());
  });

  it("keeps a parent in progress when it is reported pending while one of its children has started", () => {
    const running = applyProgress(tree(), "db", { status: "in_progress" }, later(30));
    expect(byDomain(running, "backend").status).toBe("in_progress");
    const reported = applyProgress(running, "backend", { status: "pending" }, later(31));
    expect(byDomain(reported, "backend")).toMatchObject({
      status: "in_progress",
      startedAt: byDomain(running, "backend").startedAt,
    });
    // With no child started, pending is taken as reported.
    expect(
      byDomain(applyProgress(tree(), "backend", { status: "pending" }, later(31)), "backend").status,
    ).toBe("pending");
  });

  it("rolls a grandchild's update up to every ancestor, and counts each file once overall", () => {
    let state = tree();
    state = applyProgress(
      state,
      "users",
      { status: "in_progress", filesCompleted: 2, filesTotal: 5 },
      later(30),
    );
    state = applyProgress(
      state,
      "auth",
      { status: "in_progress", filesCompleted: 1, filesTotal: 3 },
      later(31),
    );
    state = applyProgress(
      state,
      "db",
      { status: "in_progress", filesCompleted: 4, filesTotal: 4 },
      later(32),
    );
    state = applyProgress(
      state,
      "frontend",
      { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
      later(33),
    );
    expect([byDomain(state, "api").filesCompleted, byDomain(state, "api").filesTotal]).toEqual([3, 8]);
    expect([byDomain(state, "backend").filesCompleted, byDomain(state, "backend").filesTotal]).toEqual([
      7, 12,
    ]);
    // A pending parent is in progress once a child started; its last sign of life is its children's.
    expect(byDomain(state, "api").status).toBe("in_progress");
    expect(byDomain(state, "backend").startedAt).toBe(new Date(later(30)).toISOString());
    expect(byDomain(state, "backend").updatedAt).toBe(new Date(later(32)).toISOString());
    // Overall: leaves only (users, auth, db, frontend): 8/14, not the parents' sums again.
    expect(overallProgress(Object.values(state.agents))).toEqual({
      filesCompleted: 8,
      filesTotal: 14,
      progress: 57,
    });
    expect(
      leafAgents(Object.values(state.agents))
        .map((a) => a.domain)
        .sort(),
    ).toEqual(["auth", "db", "frontend", "users"]);
    // Completing a leaf completes its files, and the parents follow.
    state = applyComplete(state, "users", null, later(40));
    expect(byDomain(state, "backend").filesCompleted).toBe(10);
  });

  it("a child cancelled before it began does not start its parent", () => {
    const state = applyCancel(tree(), "db", "not needed", later(30));
    expect(byDomain(state, "backend").status).toBe("pending");
    expect(byDomain(applyLog(state, "users", "x", later(31)), "backend").status).toBe("pending");
    const started = applyFail(state, "users", "boom", later(32));
    expect(byDomain(started, "api").status).toBe("in_progress");
    expect(byDomain(started, "backend").status).toBe("in_progress");
  });

  it("refuses files on a parent and completing a parent with unfinished children", () => {
    const state = tree();
    expect(() =>
      applyProgress(state, "api", { status: "in_progress", filesCompleted: 1, filesTotal: 2 }, later(30)),
    ).toThrow(/impl-api-163010 has children: its files are the sum of theirs/);
    expect(() => applyComplete(state, "backend", null, later(30))).toThrow(
      /impl-bac-163000 cannot be completed while its children are unfinished: .*impl-db-163010/,
    );
    expect(() => applyProgress(state, "api", { status: "completed" }, later(30))).toThrow(
      /cannot be completed/,
    );
    // A status without files is fine; failing or cancelling a parent leaves its children as they are.
    const failed = applyFail(
      applyProgress(state, "api", { status: "in_progress" }, later(30)),
      "api",
      "x",
      later(31),
    );
    expect(byDomain(failed, "users").status).toBe("pending");
  });

  it("completes a parent once all its descendants finished; its files stay their sums", () => {
    let state = tree();
    state = applyProgress(
      state,
      "users",
      { status: "completed", filesCompleted: 5, filesTotal: 5 },
      later(30),
    );
    state = applyFail(state, "auth", "broken", later(31));
    state = applyCancel(state, "db", null, later(32));
    state = applyComplete(state, "api", "done", later(33));
    state = applyComplete(state, "backend", null, later(34));
    expect(byDomain(state, "backend")).toMatchObject({
      status: "completed",
      filesCompleted: 5,
      filesTotal: 5,
    });
  });

  it("names a completed grandparent as an ancestor above the parent, not as the parent", () => {
    // users → api → backend: api failed, backend completed over it; users (completed) may not be reopened.
    let state = tree();
    state = applyComplete(state, "users", null, later(30));
    state = applyFail(state, "auth", "broken", later(31));
    state = applyFail(state, "api", "redo", later(32));
    state = applyCancel(state, "db", null, later(33));
    state = applyComplete(state, "backend", null, later(34));
    expect(() => applyProgress(state, "users", { status: "in_progress" }, later(40))).toThrow(
      `${byDomain(state, "users").agentId} cannot be reopened: it is completed and its ancestor impl-bac-163000 (above its parent impl-api-163010) is completed (report in_progress on a new agent instead, or fail impl-bac-163000 first)`,
    );
  });

  it("refuses reopening an agent below a completed parent (the parent's work would be undone again)", () => {
    let state = tree();
    state = applyComplete(state, "users", null, later(30));
    state = applyFail(state, "auth", "broken", later(31));
    state = applyComplete(state, "api", "done", later(33));
    const dbFailed = applyFail(state, "db", "flaky", later(34));
    state = applyCancel(state, "db", null, later(34));
    for (const [domain, status] of [
      ["users", "in_progress"],
      ["auth", "pending"],
    ] as const) {
      expect(() =>
        applyProgress(state, domain, { status, filesCompleted: 0, filesTotal: 3 }, later(40)),
      ).toThrow(
        new RegExp(
          `^${byDomain(state, domain).agentId} cannot be reopened: it is \\w+ and its parent impl-api-163010 is completed`,
        ),
      );
    }
    // db is backend's child, and backend is still running: failed, it may be reopened; cancelled, it
    // does no more work.
    expect(() => applyProgress(state, "db", { status: "in_progress" }, later(40))).toThrow(/was cancelled/);
    expect(byDomain(applyProgress(dbFailed, "db", { status: "in_progress" }, later(40)), "db").status).toBe(
      "in_progress",
    );
    // Finished again, or reopened once the completed parent is not: fine.
    expect(applyProgress(state, "users", { status: "completed" }, later(40))).toBeTruthy();
    const reopened = applyProgress(
      applyFail(state, "api", "redo", later(41)),
      "users",
      { status: "in_progress" },
      later(42),
    );
    expect(byDomain(reopened, "users").status).toBe("in_progress");
  });

  it("update --status completed on a parent keeps its files the sums (a failed child's stay undone)", () => {
    let state = tree();
    state = applyProgress(
      state,
      "users",
      { status: "in_progress", filesCompleted: 1, filesTotal: 4 },
      later(30),
    );
    state = applyFail(state, "users", "broken", later(31));
    for (const domain of ["auth", "db"]) state = applyCancel(state, domain, null, later(32));
    state = applyProgress(state, "api", { status: "completed" }, later(33));
    expect(byDomain(state, "api")).toMatchObject({ status: "completed", filesCompleted: 1, filesTotal: 4 });
  });
});

describe("events and the tree order", () => {
  it("logs a child's event in every ancestor's log too, marked with the child's id", () => {
    const state = applyLog(tree(), "users", "migrated", later(50));
    const users = byDomain(state, "users");
    expect(users.events).toEqual([{ at: new Date(later(50)).toISOString(), message: "migrated" }]);
    for (const parent of ["api", "backend"]) {
      expect(byDomain(state, parent).events).toEqual([
        { at: new Date(later(50)).toISOString(), message: "migrated", agentId: users.agentId },
      ]);
    }
    expect(byDomain(state, "frontend").events).toEqual([]);
  });

  it("lists children right under their parent, sorted, with their depth, everywhere", () => {
    const state = tree();
    const order = treeOrder(Object.values(state.agents)).map(
      ({ agent, depth }) => `${depth}:${agent.domain}`,
    );
    expect(order).toEqual(["0:backend", "1:api", "2:auth", "2:users", "1:db", "0:frontend"]);
    const view = toStatusView(state, later(60));
    expect(view.agents.map((agent) => [agent.domain, agent.depth, agent.parentId])).toEqual([
      ["backend", 0, null],
      ["api", 1, "impl-bac-163000"],
      ["auth", 2, "impl-api-163010"],
      ["users", 2, "impl-api-163010"],
      ["db", 1, "impl-bac-163000"],
      ["frontend", 0, null],
    ]);
  });

  it("walks a hand-edited chain far deeper than the tool nests without overflowing the stack", () => {
    // The tool nests 8 levels; a state file edited by hand (valid to the schema) may hold any chain.
    let state = run();
    const [first] = Object.values(state.agents);
    const agents = { ...state.agents };
    let parent = first!.agentId;
    for (let index = 0; index < 20_000; index += 1) {
      const agentId = `deep-${index}`;
      agents[agentId] = { ...first!, agentId, domain: agentId, parentId: parent, costUsd: 0.5 };
      parent = agentId;
    }
    state = { ...state, agents, maxCostUsd: 10 };
    const order = treeOrder(Object.values(state.agents));
    expect(order.at(-2)).toMatchObject({ depth: 20_000, agent: { agentId: "deep-19999" } });
    const view = toStatusView(state, later(1));
    expect(view.agents[0]).toMatchObject({ totalCostUsd: 10_000 });
    expect(view.agents.at(-2)).toMatchObject({ totalCostUsd: 0.5, depth: 20_000 });
  });

  it("reads a state file written before nesting and metrics (no parentId, no metric fields)", () => {
    const state = run();
    const view = toStatusView(state, later(1));
    expect(view.agents[0]).toMatchObject({ parentId: null, depth: 0, iteration: null, costUsd: null });
    expect(view.cost).toEqual({ costUsd: null, maxCostUsd: null, budgetWarning: false });
  });
});
