import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";
import { describe, expect, it } from "vitest";
import { applyAdd, applyLog, applyProgress, createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { renderTerminalTable } from "../../src/render/terminal.js";
import { GITHUB_TARGET as github } from "./fixtures.js";

/** Nested agents and metrics in the comment, read back with the GFM parser GitHub's renderer follows. */

interface Node {
  type: string;
  value?: string;
  lang?: string | null | undefined;
  children?: Node[];
}

const parse = (body: string): Node =>
  fromMarkdown(body, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
const text = (node: Node): string =>
  node.type === "html" ? "" : (node.value ?? (node.children ?? []).map(text).join(""));
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
    taskFile: null,
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
      ["↳ db", "impl-db-163010", "🔄 In Progress", "1/1", "100%"],
      ["frontend", "impl-fro-163000", "⏳ Pending", "0/0", "0%"],
    ]);
    expect(body).toContain("**Mode:** Parallel (5 domains)");
    expect(body).toContain(
      "**Overall:** 50% (3/6 files)\n**Agents:** 1 pending, 4 running, 0 completed, 0 failed",
    );
  });

  it("shows a child's event once, right under its parent's place in the list", () => {
    const body = renderProgressComment(applyLog(nested(), "users", "migrated", later(40)));
    expect(body.match(/migrated/g)).toHaveLength(1);
    expect(body).toContain("- **users** (impl-use-163020), 16:30:40: migrated");
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

  it("keeps a 2,000-agent nested run within the size limit, children still after their parents", () => {
    let state = createRun({ epicId: "E", domains: ["root"], now: t0, github, taskFile: null, nonce: "ab12" });
    const domains = Array.from({ length: 2000 }, (_, i) => `worker-${String(i).padStart(4, "0")}`);
    state = applyAdd(state, domains, "root", later(1)).state;
    const body = renderFinalComment({ ...state, completedAt: new Date(later(60)).toISOString() });
    expect(body.length).toBeLessThanOrEqual(65_000);
    const rows = cells(body).slice(1);
    expect(rows[0]![0]).toBe("root");
    expect(rows.slice(1).every((row) => row[0]!.startsWith("↳ worker-"))).toBe(true);
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
