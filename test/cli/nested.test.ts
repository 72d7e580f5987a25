import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createParallelReporter } from "../../src/reporter.js";
import { runCli } from "../support/cli.js";
import { useEpicDirs } from "../support/epic-dirs.js";
import { parseGfm } from "../support/gfm.js";

/** `add`, the metric options of `update` and `init --max-cost`, run as workflow scripts run them. */

const epic = useEpicDirs();

const stateText = (dir: string) => readFile(join(dir, ".parallel-progress", "state.json"), "utf8");

async function ok(args: string[]) {
  const result = await runCli(args);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return result;
}

async function started(extra: string[] = []) {
  const dir = await epic();
  await ok(["init", "--epic", "EPIC-7", "--domains", "backend,frontend", "--dir", dir, ...extra]);
  return dir;
}

/** A caller's mistake: one line on stderr naming the problem, exit 2, the state file byte for byte the same. */
async function refused(dir: string, args: string[], message: RegExp) {
  const before = await stateText(dir);
  const result = await runCli([...args, "--dir", dir]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe("");
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(message);
  expect(await stateText(dir)).toBe(before);
}

describe("add", () => {
  it("adds agents under a parent at any depth; status shows them under it with the parent's sums", async () => {
    const dir = await started();
    const added = await ok(["add", "--domains", "api, db", "--parent", "backend", "--dir", dir]);
    const lines = added.stdout.trim().split("\n");
    expect(lines.map((line) => line.split("\t")[0])).toEqual(["api", "db"]);
    expect(lines[0]).toMatch(/^api\timpl-api-\d{6}$/);
    await ok(["add", "--domains", "users", "--parent", "api", "--dir", dir]);
    await ok(["update", "users", "--status", "in_progress", "--files", "2/5", "--dir", dir]);
    await ok(["update", "db", "--status", "completed", "--files", "3/3", "--dir", dir]);
    await ok(["log", "users", "migrated the table", "--dir", dir]);

    const json = JSON.parse((await ok(["status", "--json", "--dir", dir])).stdout);
    const rows = json.agents.map((a: Record<string, unknown>) => [
      a.domain,
      a.depth,
      a.parentId === null ? null : String(a.parentId).slice(0, 8),
      `${a.filesCompleted}/${a.filesTotal}`,
      a.status,
    ]);
    expect(rows).toEqual([
      ["backend", 0, null, "5/8", "in_progress"],
      ["api", 1, "impl-bac", "2/5", "in_progress"],
      ["users", 2, "impl-api", "2/5", "in_progress"],
      ["db", 1, "impl-bac", "3/3", "completed"],
      ["frontend", 0, null, "0/0", "pending"],
    ]);
    expect(json.overall).toEqual({ filesCompleted: 5, filesTotal: 8, progress: 62 });
    // The child's event is in its parent's and grandparent's recent events too.
    for (const index of [0, 1, 2]) {
      expect(json.agents[index].events.at(-1).message).toBe("migrated the table");
    }
    expect(json.agents[0].events.at(-1).agentId).toBe(json.agents[2].agentId);

    const markdown = (await ok(["status", "--markdown", "--dir", dir])).stdout;
    expect(markdown).toContain("| backend | impl-bac-");
    expect(markdown).toMatch(
      /\n\| ↳ api \| impl-api-\d{6} \| 🔄 In Progress \| 2\/5 \| 40% \|\n\| \u2003↳ users \|/,
    );
    const table = (await ok(["status", "--dir", dir])).stdout;
    expect(table).toMatch(/\n└ api +impl-api-/);
    expect(table).toMatch(/\n {2}└ users +impl-use-/);
  });

  it("status indents a short name deep down, piped or in wide columns, without depth numbers", async () => {
    const dir = await epic();
    await ok(["init", "--epic", "DEP", "--domains", "p", "--dir", dir]);
    for (const [child, parent] of [
      ["c", "p"],
      ["g", "c"],
      ["h", "g"],
    ] as const) {
      await ok(["add", "--domains", child, "--parent", parent, "--dir", dir]);
    }
    for (const env of [{}, { COLUMNS: "300" }]) {
      const table = (await runCli(["status", "--dir", dir], { env })).stdout;
      const cells = table
        .split("\n")
        .filter((line) => line.includes("impl-"))
        .map((line) => line.slice(0, line.indexOf("impl-")).trimEnd());
      expect(cells).toEqual(["p", "└ c", "  └ g", "    └ h"]);
    }
  });

  it("keeps the parent's sums right when many processes add and report at once", async () => {
    const dir = await started();
    const workers = Array.from({ length: 6 }, (_, i) => `w${i}`);
    // Each worker adds itself and reports, all at the same time: every report lands in one locked change.
    await Promise.all(
      workers.map(async (worker, i) => {
        await ok(["add", "--domains", worker, "--parent", "backend", "--dir", dir]);
        await ok(["update", worker, "--status", "in_progress", "--files", `${i}/${i + 2}`, "--dir", dir]);
      }),
    );
    const json = JSON.parse((await ok(["status", "--json", "--dir", dir])).stdout);
    const backend = json.agents.find((a: { domain: string }) => a.domain === "backend");
    const children = json.agents.filter((a: { parentId: string | null }) => a.parentId === backend.agentId);
    expect(children).toHaveLength(6);
    const sum = (key: string) =>
      children.reduce((total: number, a: Record<string, number>) => total + a[key]!, 0);
    expect([backend.filesCompleted, backend.filesTotal]).toEqual([sum("filesCompleted"), sum("filesTotal")]);
    expect([backend.filesCompleted, backend.filesTotal]).toEqual([15, 27]);
    expect(json.overall).toMatchObject({ filesCompleted: 15, filesTotal: 27 });
  });

  it("refuses what it cannot do, with one line, exit 2, state untouched", async () => {
    const dir = await started();
    await ok(["update", "frontend", "--status", "in_progress", "--files", "1/4", "--dir", dir]);
    await refused(dir, ["add", "--domains", "backend"], /domain "backend" is already in run/);
    await refused(dir, ["add", "--domains", "api", "--parent", "nobody"], /unknown agent "nobody"/);
    await refused(
      dir,
      ["add", "--domains", "api", "--parent", "frontend"],
      /reports files of its own \(1\/4\)/,
    );
    await refused(dir, ["add", "--domains", "a,,b"], /--domains must be a comma-separated list/);
    await ok(["add", "--domains", "api", "--parent", "backend", "--dir", dir]);
    // The CLI's words, no library method named (the library's say `updateAgentProgress: impl-… has children`).
    await refused(
      dir,
      ["update", "backend", "--status", "in_progress", "--files", "1/2"],
      /^parallel-progress: error: impl-bac-\S+ has children/,
    );
    await refused(dir, ["complete", "backend"], /cannot be completed while its children are unfinished/);
    await ok(["finalize", "--dir", dir]);
    await refused(dir, ["add", "--domains", "late"], /was finalized/);
  });
});

describe("agent metrics", () => {
  it("takes --iteration, --criteria and --cost; the table gains the columns; JSON carries them", async () => {
    const dir = await started(["--max-cost", "10"]);
    const plain = (await ok(["status", "--markdown", "--dir", dir])).stdout;
    expect(plain).toContain("| Domain | Agent | Status | Files | Progress |\n|--------|");
    await ok([
      "update",
      "backend",
      "--status",
      "in_progress",
      "--iteration",
      "3/10",
      "--criteria",
      "4/6",
      "--cost",
      "4.5",
      "--dir",
      dir,
    ]);
    // Metrics not given stay as they are.
    await ok(["update", "backend", "--status", "in_progress", "--files", "1/2", "--dir", dir]);
    const json = JSON.parse((await ok(["status", "--json", "--dir", dir])).stdout);
    expect(json.agents[0]).toMatchObject({
      domain: "backend",
      iteration: 3,
      maxIterations: 10,
      criteriaVerified: 4,
      criteriaTotal: 6,
      costUsd: 4.5,
      budgetUsd: 5,
      budgetWarning: true,
    });
    expect(json.agents[1]).toMatchObject({ iteration: null, maxIterations: null, costUsd: null });
    expect(json.cost).toEqual({ costUsd: 4.5, maxCostUsd: 10, budgetWarning: false });
    const markdown = (await ok(["status", "--markdown", "--dir", dir])).stdout;
    expect(markdown).toMatch(
      /\| backend \| impl-bac-\d{6} \| 🔄 In Progress \| 1\/2 \| 50% \| 3\/10 \| 4\/6 \| \$4\.50 ⚠️ \|/,
    );
    expect(markdown).toContain("**Cost:** $4.50 of $10.00 budget\n");
  });

  // One run for all the refusals: each leaves its state byte for byte the same, so the next meets it too.
  // One value per option here (what a process shows: exit 2, one line, the state untouched); every bad
  // value of each is refused in-process: test/config/options.test.ts.
  it("rejects bad metric values on update, each with one line and exit 2", async () => {
    const dir = await started();
    for (const [args, message] of [
      [["--cost", "1e3"], /--cost must be a decimal number .* got "1e3"/],
      [["--iteration", "5/3"], /--iteration must be .* got "5\/3"/],
      [["--criteria", "7/6"], /--criteria must be .* got "7\/6"/],
    ] as const) {
      await refused(dir, ["update", "backend", "--status", "in_progress", ...args], message);
    }
  });

  it("takes an agent's last metrics on complete, fail and cancel (a cancelled agent takes no update)", async () => {
    const dir = await epic();
    await ok(["init", "--epic", "E", "--domains", "a,b,c", "--dir", dir]);
    await ok(["complete", "a", "--summary", "done", "--cost", "2", "--criteria", "6/6", "--dir", dir]);
    await ok(["fail", "b", "--error", "boom", "--cost", "0.5", "--iteration", "3/3", "--dir", dir]);
    await ok(["cancel", "c", "--reason", "not needed", "--cost", "1.25", "--dir", dir]);
    const json = JSON.parse((await ok(["status", "--json", "--dir", dir])).stdout);
    expect(json.agents).toMatchObject([
      {
        domain: "a",
        status: "completed",
        costUsd: 2,
        criteriaVerified: 6,
        criteriaTotal: 6,
        summary: "done",
      },
      { domain: "b", status: "failed", costUsd: 0.5, iteration: 3, maxIterations: 3, error: "boom" },
      { domain: "c", status: "cancelled", costUsd: 1.25, error: "not needed" },
    ]);
    expect(json.cost.costUsd).toBe(3.75);
  });

  it("rejects bad metric values on complete, fail and cancel, and leaves the agent as it was", async () => {
    const dir = await started();
    await refused(
      dir,
      ["complete", "backend", "--cost", "-1"],
      /--cost must be a decimal number .* got "-1"/,
    );
    await refused(
      dir,
      ["fail", "backend", "--error", "x", "--iteration", "5/3"],
      /--iteration must be .* got "5\/3"/,
    );
    await refused(dir, ["cancel", "backend", "--criteria", "7/6"], /--criteria must be .* got "7\/6"/);
  });

  it("rejects a bad --max-cost at init and creates no run", async () => {
    const dir = await epic();
    const result = await runCli(["init", "--epic", "E", "--domains", "a", "--max-cost", "ten", "--dir", dir]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/--max-cost must be a decimal number .* got "ten"/);
    await expect(stateText(dir)).rejects.toThrow(/ENOENT/);
  });
});

describe("children under their parent after the run", () => {
  it("history and the final summary's agent durations show each child under its parent, marked", async () => {
    const dir = await started();
    await ok(["add", "--domains", "zapi,adb", "--parent", "backend", "--dir", dir]);
    await ok(["add", "--domains", "users", "--parent", "zapi", "--dir", dir]);
    for (const domain of ["users", "zapi", "adb", "backend", "frontend"]) {
      await ok(["complete", domain, "--dir", dir]);
    }
    await ok(["finalize", "--summary", "merged", "--dir", dir]);

    const body = (await ok(["status", "--markdown", "--dir", dir])).stdout;
    const durations = body.slice(body.indexOf("### Agent Durations"), body.indexOf("### Timeline"));
    const items = durations.split("\n").filter((line) => line.startsWith("- "));
    expect(items.map((line) => line.slice(0, line.indexOf(" ("))).slice(0, 5)).toEqual([
      "- backend",
      "- ↳ adb",
      "- ↳ zapi",
      "- \u2003↳ users",
      "- frontend",
    ]);

    const history = JSON.parse((await ok(["history", "--json", "--dir", dir])).stdout);
    expect(
      history[0].agents.map((a: { domain: string; parent: string | null; depth: number }) => [
        a.domain,
        a.parent,
        a.depth,
      ]),
    ).toEqual([
      ["backend", null, 0],
      ["adb", "backend", 1],
      ["zapi", "backend", 1],
      ["users", "zapi", 2],
      ["frontend", null, 0],
    ]);
    const text = (await ok(["history", "--dir", dir])).stdout.split("\n").slice(1, 6);
    expect(text.map((line) => line.split("\t")[0])).toEqual([
      "  backend",
      "  └ adb",
      "  └ zapi",
      "    └ users",
      "  frontend",
    ]);
  });
});

describe("the timeline", () => {
  it("finalize's summary holds the whole chart for hostile domains, parsed as GitHub does", async () => {
    const domains = [
      "a:b",
      "c#d",
      "e;f",
      "%%{init}%%",
      "```",
      "~~~ x",
      "title x",
      "section y",
      "<b>@bob</b>",
    ];
    const dir = await epic();
    await ok(["init", "--epic", "E", "--domains", domains.join(","), "--dir", dir]);
    await ok(["add", "--domains", "click a", "--parent", "a:b", "--dir", dir]);
    await ok(["update", "click a", "--status", "in_progress", "--files", "1/2", "--dir", dir]);
    await ok(["fail", "c#d", "--error", "```\nbroken", "--dir", dir]);
    await ok(["cancel", "e;f", "--dir", dir]);
    await ok(["complete", "```", "--dir", dir]);
    await ok(["finalize", "--summary", "```mermaid\nunclosed", "--dir", dir]);
    const body = (await ok(["status", "--markdown", "--dir", dir])).stdout.trimEnd();
    const top = parseGfm(body).children!;
    // The merge summary's own (closed) mermaid block stays the user's; ours is the one under "Timeline".
    const heading = top.findIndex(
      (node) => node.type === "heading" && node.children?.[0]?.value === "Timeline",
    );
    const charts = [top[heading + 1]!];
    expect(charts[0]).toMatchObject({ type: "code", lang: "mermaid" });
    expect(top.slice(heading + 2).map((node) => node.type)).toEqual(["html"]);
    expect(top[heading + 2]!.value).toMatch(/^<!-- parallel-progress:final run=/);
    const bars = charts[0]!.value!.split("\n").slice(5);
    expect(bars).toHaveLength(domains.length + 1);
    for (const bar of bars) {
      expect(bar).toMatch(
        /^ {4}\S+ [^:;#%`\n]+ :(done|crit|crit, done|active|milestone|crit, milestone), [\d :-]+, [\d :-]+$/u,
      );
    }
    expect(bars.find((bar) => bar.includes("↳"))).toMatch(/^ {4}🔄 ↳ click a :active, /);
    expect(bars.find((bar) => bar.includes("c＃d"))).toMatch(/:crit, /);
  });
});

describe("the library", () => {
  it("addAgents and metrics through the reporter, caller mistakes as typed errors", async () => {
    const dir = await epic();
    const reporter = createParallelReporter(dir, { env: {} });
    await reporter.initializeParallelTracking("EPIC-7", ["backend"], undefined, { maxCostUsd: 2 });
    const added = await reporter.addAgents(["api", "db"], { parent: "backend" });
    expect(added.map((agent) => agent.domain)).toEqual(["api", "db"]);
    await reporter.updateAgentProgress("api", "in_progress", 1, 4, {
      costUsd: 0.9,
      iteration: 1,
      maxIterations: 3,
    });
    const state = reporter.executionState;
    expect(state.maxCostUsd).toBe(2);
    const backend = Object.values(state.agents).find((a) => a.domain === "backend")!;
    expect(state.agents[added[0]!.agentId]).toMatchObject({ parentId: backend.agentId, costUsd: 0.9 });
    expect(Object.values(state.agents).find((a) => a.domain === "backend")).toMatchObject({
      filesCompleted: 1,
      filesTotal: 4,
    });
    await expect(
      reporter.updateAgentProgress("db", "in_progress", undefined, undefined, { costUsd: -1 }),
    ).rejects.toThrow(/cost must be/);
    await expect(reporter.addAgents(["z"], { parent: 5 as unknown as string })).rejects.toThrow(
      /addAgents: options.parent must be a string, got 5/,
    );
    await expect(reporter.addAgents([])).rejects.toThrow(/at least one domain/);
    await expect(
      reporter.initializeParallelTracking("E2", ["x"], undefined, { force: true, maxCostUsd: Number.NaN }),
    ).rejects.toThrow(/maxCostUsd must be/);
  });
});
