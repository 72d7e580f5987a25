import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyAdd, applyFinalize, applyLog, applyProgress, createRun } from "../../src/model/run.js";
import { treeOrder } from "../../src/model/tree.js";
import type { RunState } from "../../src/model/types.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { renderTerminalTable } from "../../src/render/terminal.js";
import { parseGfm as parse, text } from "../support/gfm.js";
import { GITHUB_TARGET as github, makeAgent, makeRun } from "./fixtures.js";

/** Nested agents and metrics in the comment, read back with the GFM parser GitHub's renderer follows. */

const table = (body: string) => parse(body).children!.find((node) => node.type === "table")!;
const cells = (body: string) => table(body).children!.map((row) => row.children!.map(text));

const t0 = Date.parse("2025-10-19T16:30:00Z");
const later = (seconds: number) => t0 + seconds * 1000;

function nested(maxCostUsd?: number): RunState {
  let state = createRun({
    epicId: "EPIC-7",
    domains: ["backend", "frontend"],
    now: t0,
    github,
    nonce: "ab12",
    ...(maxCostUsd === undefined ? {} : { maxCostUsd }),
  });
  state = applyAdd(state, ["db", "api"], "backend", later(10)).state;
  state = applyAdd(state, ["users"], "api", later(20)).state;
  state = applyProgress(
    state,
    "users",
    { status: "in_progress", filesCompleted: 2, filesTotal: 5 },
    later(30),
  );
  state = applyProgress(state, "db", { status: "in_progress", filesCompleted: 1, filesTotal: 1 }, later(31));
  return state;
}

describe("nested agents in the comment", () => {
  it("lists children under their parent, indented, with the parents' sums and leaves-only totals", () => {
    const body = renderProgressComment(nested());
    expect(cells(body)).toEqual([
      ["Domain", "Agent", "Status", "Files", "Progress"],
      ["backend", "impl-bac-163000", "🔄 In Progress", "3/6", "50%"],
      ["↳ api", "impl-api-163010", "🔄 In Progress", "2/5", "40%"],
      ["\u2003↳ users", "impl-use-163020", "🔄 In Progress", "2/5", "40%"],
      ["↳ db", "impl-db-163010", "🔄 In Progress", "1/1", "99%"], // running: 100% only once done
      ["frontend", "impl-fro-163000", "⏳ Pending", "0/0", "0%"],
    ]);
    expect(body).toContain("**Mode:** Parallel (5 domains)");
    expect(body).toContain(
      "**Overall:** 50% (3/6 files)\n**Agents:** 1 pending, 4 running, 0 completed, 0 failed",
    );
  });

  it("shows a child's event under the child and in each ancestor's recent events, marked with its id", () => {
    const body = renderProgressComment(applyLog(nested(), "users", "migrated", later(40)));
    expect(body.match(/migrated/g)).toHaveLength(3);
    expect(body).toContain("- **users** (impl-use-163020), 16:30:40: migrated");
    expect(body).toContain("- **api** (impl-api-163010), 16:30:40: [impl-use-163020] migrated");
    expect(body).toContain("- **backend** (impl-bac-163000), 16:30:40: [impl-use-163020] migrated");
  });

  it("terminal: children indented under their parent", () => {
    const lines = renderTerminalTable(nested(), { color: null }).split("\n");
    expect(lines.slice(1, 6).map((line) => line.slice(0, line.indexOf("impl-")).trimEnd())).toEqual([
      "backend",
      "└ api",
      "  └ users",
      "└ db",
      "frontend",
    ]);
  });

  it("finalized with a parent still running: shown as any running agent, in the durations and the timeline", () => {
    const state = applyFinalize(nested(), "merged", later(120));
    const body = renderFinalComment(state);
    expect(cells(body)[1]).toEqual(["backend", "impl-bac-163000", "🔄 In Progress", "3/6", "50%"]);
    expect(body).toContain("- backend (impl-bac-163000): 🔄 In Progress, unfinished after 1 minute");
    expect(body).toContain(
      "    🔄 backend :active, 2025-10-19 16:30:30, 2025-10-19 16:32:00\n    🔄 ↳ api :active, ",
    );
    expect(body).toContain("    🔄 ↳↳ users :active, 2025-10-19 16:30:30, 2025-10-19 16:32:00\n");
  });

  it("keeps a 2,000-agent nested run within the size limit, children still after their parents", () => {
    let state = createRun({ epicId: "E", domains: ["root"], now: t0, github, nonce: "ab12" });
    const domains = Array.from({ length: 2000 }, (_, i) => `worker-${String(i).padStart(4, "0")}`);
    state = applyAdd(state, domains, "root", later(1)).state;
    const body = renderFinalComment({ ...state, completedAt: new Date(later(60)).toISOString() });
    expect(body.length).toBeLessThanOrEqual(65_000);
    const rows = cells(body).slice(1);
    expect(rows[0]![0]).toBe("root");
    expect(rows.slice(1).every((row) => row[0]!.startsWith("↳ worker-"))).toBe(true);
  });
});

describe("nested agents in a table cut to fit", () => {
  /**
   * `alpha` completed with a failed child, `beta` running with a pending child, and enough completed
   * top-level agents (long domains) that the table must fold its completed rows.
   */
  function foldedRun(): RunState {
    const agents = [
      makeAgent("alpha", "completed", 0, 1),
      makeAgent("alpha-child", "failed", 0, 1, { agentId: "impl-alc-163000", parentId: "impl-alp-163000" }),
      makeAgent("beta", "in_progress", 0, 1),
      makeAgent("beta-child", "pending", 0, 1, { agentId: "impl-bec-163000", parentId: "impl-bet-163000" }),
      ...Array.from({ length: 800 }, (_, index) =>
        makeAgent(`done-${String(index).padStart(3, "0")}-${"x".repeat(60)}`, "completed", 1, 1, {
          agentId: `impl-d${index}-163000`,
        }),
      ),
    ];
    return makeRun(agents);
  }

  it("never shows a child under another agent: a kept child keeps its ancestors' rows", () => {
    const body = renderProgressComment(foldedRun());
    expect(body).toMatch(/✅ [\d,]+ completed domains not listed/);
    const rows = cells(body)
      .slice(1)
      .map((row) => row[0]!);
    expect(rows).toEqual(["alpha", "↳ alpha-child", "beta", "↳ beta-child"]);
  });

  it("cut harder, still no child without its parent right above it (property)", () => {
    const state = foldedRun();
    fc.assert(
      fc.property(fc.integer({ min: 600, max: 6000 }), (maxLength) => {
        const rows = cells(renderProgressComment(state, { maxLength }))
          .slice(1)
          .map((row) => row[0]!);
        rows.forEach((row, index) => {
          if (row === "↳ alpha-child") expect(rows[index - 1]).toBe("alpha");
          if (row === "↳ beta-child") expect(rows[index - 1]).toBe("beta");
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe("metric columns", () => {
  it("keeps the original table while nobody reports a metric, even with a budget", () => {
    const body = renderProgressComment(nested(10));
    expect(body).toContain(
      "| Domain | Agent | Status | Files | Progress |\n|--------|-------|--------|-------|----------|\n",
    );
    expect(body).not.toContain("**Cost:**");
  });

  it("adds each column once some agent reports it, and the Cost line, flagged past 80% of the budget", () => {
    let state = nested(10);
    state = applyProgress(
      state,
      "db",
      { status: "in_progress", metrics: { iteration: 2, maxIterations: 5 } },
      later(40),
    );
    let body = renderProgressComment(state);
    expect(cells(body)[0]).toEqual(["Domain", "Agent", "Status", "Files", "Progress", "Iteration"]);
    expect(body).toContain("|--------|-------|--------|-------|----------|-----------|");
    state = applyProgress(
      state,
      "users",
      { status: "in_progress", metrics: { criteriaVerified: 1, criteriaTotal: 4, costUsd: 1.5 } },
      later(41),
    );
    state = applyProgress(
      state,
      "frontend",
      { status: "in_progress", metrics: { costUsd: 7.25 } },
      later(42),
    );
    body = renderProgressComment(state);
    const rows = cells(body);
    expect(rows[0]).toEqual([
      "Domain",
      "Agent",
      "Status",
      "Files",
      "Progress",
      "Iteration",
      "Criteria",
      "Cost",
    ]);
    expect(rows.find((row) => row[0] === "↳ db")!.slice(5)).toEqual(["2/5", "—", "—"]);
    expect(rows.find((row) => row[0] === "\u2003↳ users")!.slice(5)).toEqual(["—", "1/4", "$1.50"]);
    // backend's share is 5: $1.50 is fine; frontend's share is 5: $7.25 is past 80%.
    expect(rows.find((row) => row[0] === "backend")!.slice(5)).toEqual(["—", "—", "$1.50"]);
    expect(rows.find((row) => row[0] === "frontend")!.slice(5)).toEqual(["—", "—", "$7.25 ⚠️"]);
    expect(body).toContain(
      "**Agents:** 0 pending, 5 running, 0 completed, 0 failed\n**Cost:** $8.75 of $10.00 budget ⚠️ 88% used",
    );
    for (const row of rows) expect(row).toHaveLength(8);
  });
});

describe("any tree with any metrics keeps the table whole (property)", () => {
  it("one row per agent in tree order, every row as many cells as the header, counts as reported", () => {
    const agentSpec = fc.record({
      domain: fc.string({
        unit: fc.constantFrom("a", "|", "\n", "@x", "`", "<b>", "↳", " ", "\\"),
        minLength: 1,
        maxLength: 6,
      }),
      /** Index of an earlier agent to nest under, if any. */
      parent: fc.option(fc.nat(), { nil: null }),
      files: fc.tuple(fc.nat(9), fc.nat(9)),
      iteration: fc.option(fc.tuple(fc.nat(5), fc.integer({ min: 5, max: 9 })), { nil: null }),
      cost: fc.option(fc.double({ min: 0, max: 1000, noNaN: true }), { nil: null }),
    });
    fc.assert(
      fc.property(
        fc.array(agentSpec, { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        (specs, budget) => {
          let state = createRun({
            epicId: "E",
            domains: ["root"],
            now: t0,
            github,
            nonce: "ab12",
            ...(budget === undefined ? {} : { maxCostUsd: budget }),
          });
          const ids = [Object.keys(state.agents)[0]!];
          specs.forEach((spec, index) => {
            const parent = spec.parent === null ? null : ids[spec.parent % ids.length]!;
            const result = applyAdd(state, [`${index}:${spec.domain}`], parent, later(index));
            state = result.state;
            ids.push(result.added[0]!.agentId);
          });
          // Report on the leaves only (a parent's files are its children's sums).
          for (const [index, spec] of specs.entries()) {
            const id = ids[index + 1]!;
            const metrics = {
              ...(spec.iteration ? { iteration: spec.iteration[0], maxIterations: spec.iteration[1] } : {}),
              ...(spec.cost === null ? {} : { costUsd: spec.cost }),
            };
            const leaf = !Object.values(state.agents).some((agent) => agent.parentId === id);
            const [a, b] = spec.files;
            const files = leaf ? { filesCompleted: Math.min(a, b), filesTotal: Math.max(a, b) } : {};
            state = applyProgress(
              state,
              id,
              { status: "in_progress", ...files, metrics },
              later(100 + index),
            );
          }
          for (const body of [
            renderProgressComment(state),
            renderFinalComment({ ...state, completedAt: new Date(later(500)).toISOString() }),
          ]) {
            const rows = cells(body);
            const order = treeOrder(Object.values(state.agents));
            expect(rows).toHaveLength(order.length + 1);
            const width = rows[0]!.length;
            for (const [index, row] of rows.entries()) {
              expect(row).toHaveLength(width);
              if (index === 0) continue;
              const { agent, depth } = order[index - 1]!;
              expect(row[1]).toBe(agent.agentId);
              expect(row[3]).toBe(`${agent.filesCompleted}/${agent.filesTotal}`);
              expect(row[0]!.startsWith(depth === 0 ? "" : `${"\u2003".repeat(depth - 1)}↳ `)).toBe(true);
              if (rows[0]!.at(-1) === "Cost") expect(row.at(-1)).toMatch(/^(—|\$[\d,]+\.\d\d( ⚠️)?)$/);
            }
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
