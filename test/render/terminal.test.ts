import { describe, expect, it } from "vitest";
import type { AgentState, AgentStatus, RunState } from "../../src/model/types.js";
import {
  type Colors,
  cutPainted,
  displayWidth,
  progressBar,
  renderTerminalTable,
} from "../../src/render/terminal.js";
import { liveRun, ms } from "./fixtures.js";

function agent(
  domain: string,
  status: AgentStatus,
  done: number,
  total: number,
  error: string | null = null,
): AgentState {
  return {
    agentId: `impl-${domain.slice(0, 3)}-163000`,
    domain,
    status,
    filesCompleted: done,
    filesTotal: total,
    startedAt: null,
    updatedAt: "2025-10-19T16:31:00.000Z",
    finishedAt: null,
    summary: null,
    error,
    events: [],
  };
}

function state(agents: AgentState[]): RunState {
  return {
    runId: "R-1",
    startedAt: "2025-10-19T16:30:00.000Z",
    agents: Object.fromEntries(agents.map((a) => [a.agentId, a])),
  } as RunState;
}

const tagged = (name: string) => (text: string) => `<${name}>${text}</${name}>`;
const fakeColors: Colors = {
  bold: tagged("b"),
  dim: tagged("dim"),
  gray: tagged("gray"),
  green: tagged("green"),
  red: tagged("red"),
  yellow: tagged("yellow"),
  cyan: tagged("cyan"),
};

const guideRun = state([
  agent("tests", "pending", 0, 4),
  agent("backend", "in_progress", 3, 7),
  agent("frontend", "pending", 0, 5),
]);

describe("renderTerminalTable", () => {
  it("draws aligned columns, bars, the Overall line and the counts without colour", () => {
    expect(renderTerminalTable(guideRun, { color: null })).toBe(
      [
        "Domain    Agent            Status       Files  Progress",
        "backend   impl-bac-163000  In Progress  3/7    █████████░░░░░░░░░░░  43%",
        "frontend  impl-fro-163000  Pending      0/5    ░░░░░░░░░░░░░░░░░░░░   0%",
        "tests     impl-tes-163000  Pending      0/4    ░░░░░░░░░░░░░░░░░░░░   0%",
        "",
        "Overall: 19% (3/16 files)",
        "Agents: 2 pending, 1 running, 0 completed, 0 failed",
      ].join("\n"),
    );
  });

  it("colours by status with the given chalk-like instance", () => {
    const out = renderTerminalTable(
      state([
        agent("a-ok", "completed", 2, 2),
        agent("b-bad", "failed", 1, 2, "boom"),
        agent("c-run", "in_progress", 1, 2),
      ]),
      { color: fakeColors },
    );
    expect(out).toContain("<green>Completed  </green>");
    expect(out).toContain("<green>████████████████████</green><dim></dim> 100%");
    expect(out).toContain("<red>Failed     </red>");
    expect(out).toContain("<yellow>██████████</yellow><dim>░░░░░░░░░░</dim>  50%");
    expect(out.split("\n")[0]).toMatch(/^<b>Domain/);
    expect(out).toContain(
      "<b>Overall:</b> 67% (4/6 files)\n<b>Agents:</b> 0 pending, 1 running, 1 completed, 1 failed",
    );
    expect(out).toContain("<red>  b-bad: boom</red>");
  });

  it("shortens the text columns to the width and keeps escape sequences out", () => {
    const out = renderTerminalTable(
      state([
        agent(`evil\u001b[2J${"x".repeat(80)}`, "cancelled", 0, 1, "stop\nnow"),
        agent("日本語のドメイン", "pending", 0, 1),
      ]),
      { color: null, width: 80 },
    );
    expect(out).not.toContain("\u001b");
    for (const line of out.split("\n").slice(0, 3)) expect(displayWidth(line)).toBeLessThanOrEqual(80);
    expect(out).toContain("evil[2Jxxx");
    expect(out).toContain("…");
    expect(out).toContain("\nAgents: 1 pending, 0 running, 0 completed, 0 failed, 1 cancelled\n");
    expect(out).toMatch(/\n {2}evil\[2Jx+…: stop now$/);
  });
});

describe("renderTerminalTable progress", () => {
  it("an agent running with every file done is at 99%, its bar one cell short, as Overall", () => {
    const out = renderTerminalTable(state([agent("backend", "in_progress", 5, 5)]), { color: null });
    expect(out).toContain("5/5    ███████████████████░  99%");
    expect(out).toContain("Overall: 99% (5/5 files)");
  });
});

describe("renderTerminalTable at a width", () => {
  it("shortens only the Domain column: the agent id is never cut, even past the width", () => {
    const run = state([
      agent("backend-services", "in_progress", 5, 9),
      agent("frontend-web", "pending", 0, 3),
    ]);
    run.agents["impl-bac-163000"]!.agentId = "impl-bac-163000-2";
    const out = renderTerminalTable(run, { color: null, width: 70 });
    const [header, backend, frontend] = out.split("\n");
    expect(backend).toMatch(/^backe… {2}impl-bac-163000-2 {2}In Progress/);
    expect(frontend).toMatch(/^front… {2}impl-fro-163000 {4}Pending/);
    expect(header).toMatch(/^Domain {2}Agent {14}Status/);
    const narrow = renderTerminalTable(run, { color: null, width: 20 });
    expect(narrow).toContain("impl-bac-163000-2");
    expect(renderTerminalTable(run, { color: null })).toContain("backend-services  impl-bac-163000-2");
  });

  it("shows deep levels by number where their indentation would leave the name no room", () => {
    // A chain 8 deep in 70 columns: from depth 3 the 6-column Domain cell was all indentation and `…`.
    const chain = Array.from({ length: 9 }, (_, depth) => agent(`${depth}-level`, "pending", 0, 0));
    const run = state(chain);
    const ids = Object.keys(run.agents);
    ids.forEach((id, depth) => {
      if (depth > 0) run.agents[id]!.parentId = ids[depth - 1]!;
    });
    const cells = renderTerminalTable(run, { color: null, width: 70 })
      .split("\n")
      .slice(1, 10)
      .map((line) => line.split(/ {2,}/)[0]);
    expect(cells).toEqual([
      "0-lev…",
      "└ 1-l…",
      ...[2, 3, 4, 5, 6, 7, 8].map((depth) => `${depth}└ ${depth}-…`),
    ]);
  });

  it("indents every level, never a number, where nothing is cut (short names deep down too)", () => {
    // p → c → g → h: the column was as wide as "    └ h", yet rows from depth 3 came out as `3└ h`.
    const chainOf = (names: string[]) => {
      const run = state(names.map((name) => agent(name, "pending", 0, 0)));
      const ids = Object.keys(run.agents);
      ids.forEach((id, depth) => {
        if (depth > 0) run.agents[id]!.parentId = ids[depth - 1]!;
      });
      return run;
    };
    const domainCells = (out: string, rows: number) =>
      out
        .split("\n")
        .slice(1, rows + 1)
        .map((line) => line.slice(0, line.indexOf("impl-")).trimEnd());
    const short = chainOf(["p", "c", "g", "h"]);
    const indented = ["p", "└ c", "  └ g", "    └ h"];
    expect(domainCells(renderTerminalTable(short, { color: null }), 4)).toEqual(indented);
    expect(domainCells(renderTerminalTable(short, { color: null, width: 300 }), 4)).toEqual(indented);
    // Eight levels below the top, each name 2 columns: the last row as indented as the ones above it.
    const deep = chainOf(["l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8"]);
    const cells = domainCells(renderTerminalTable(deep, { color: null, width: 200 }), 9);
    expect(cells[7]).toBe(`${"  ".repeat(6)}└ l7`);
    expect(cells[8]).toBe(`${"  ".repeat(7)}└ l8`);
  });
});

describe("renderTerminalTable with the time and events", () => {
  const now = ms("16:50:00");

  it("marks stalled agents, adds the ETA and each agent's last event", () => {
    expect(renderTerminalTable(liveRun(), { color: null, now })).toBe(
      [
        "Domain    Agent            Status                Files  Progress",
        "backend   impl-bac-163000  In Progress           6/10   ████████████░░░░░░░░  60%",
        "  ↳ 16:49:30 wrote api.ts",
        "docs      impl-doc-163000  Cancelled             0/2    ░░░░░░░░░░░░░░░░░░░░   0%",
        "frontend  impl-fro-163000  Stalled (18 minutes)  2/8    █████░░░░░░░░░░░░░░░  25%",
        "ops       impl-ops-163000  Stalled (20 minutes)  0/5    ░░░░░░░░░░░░░░░░░░░░   0%",
        "qa        impl-qa-163000   Failed                1/3    ███████░░░░░░░░░░░░░  33%",
        "tests     impl-tes-163000  Completed             4/4    ████████████████████ 100%",
        "  ↳ 16:44:00 all 4 suites pass",
        "",
        "Overall: 41% (13/32 files)",
        "Agents: 1 pending, 2 running, 1 completed, 1 failed, 1 cancelled, 2 stalled",
        "ETA: ~23 minutes",
        "  docs: not needed",
        "  qa: Compilation error in main.py",
      ].join("\n"),
    );
  });

  it("paints stalled agents red and events dim; without the time, neither stalled marks nor ETA", () => {
    const out = renderTerminalTable(liveRun(), { color: fakeColors, now });
    expect(out).toContain("<red>Stalled (18 minutes)</red>");
    expect(out).toContain("<dim>  ↳ 16:49:30 wrote api.ts</dim>");
    expect(out).toContain("<b>ETA:</b> ~23 minutes");
    const timeless = renderTerminalTable(liveRun(), { color: null });
    expect(timeless).not.toContain("Stalled");
    expect(timeless).not.toContain("ETA:");
    expect(timeless).toContain("  ↳ 16:49:30 wrote api.ts");
  });

  it("keeps event lines to the width and free of escape sequences", () => {
    const state = liveRun();
    state.agents["impl-bac-163000"]!.events.push({
      at: "later",
      message: `\u001b[2Jclear\nscreen ${"y".repeat(200)}`,
    });
    const out = renderTerminalTable(state, { color: null, now, width: 60 });
    expect(out).not.toContain("\u001b");
    const line = out.split("\n").find((text) => text.startsWith("  ↳ "))!;
    expect(line).toMatch(/^ {2}↳ \[2Jclear screen y+…$/);
    expect(displayWidth(line)).toBeLessThanOrEqual(60);
  });
});

describe("progressBar", () => {
  it.each([
    [0, 0],
    [1, 1],
    [43, 9],
    [50, 10],
    [97, 19],
    [99, 19],
    [100, 20],
  ])("%i percent → %i cells", (progress, filled) => {
    expect(progressBar(progress)).toEqual({ filled, empty: 20 - filled });
  });
});

describe("displayWidth", () => {
  it("counts wide and zero-width characters", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("日本")).toBe(4);
    expect(displayWidth("😀")).toBe(2);
    expect(displayWidth("e\u0301")).toBe(1);
  });

  it("counts emoji that terminals draw wide as 2, wherever Unicode puts them", () => {
    // East Asian Width W outside the astral emoji block: ✅ ❌ ⏳ ⚡ ⭐ ☕.
    expect(displayWidth("✅❌⏳⚡⭐☕")).toBe(12);
    // Text-style symbols stay narrow.
    expect(displayWidth("✓↳└→")).toBe(4);
  });

  it("counts a grapheme as one thing on screen: emoji sequences and flags take 2 columns, not 2 each", () => {
    expect(displayWidth("\u{1F468}\u200D\u{1F469}\u200D\u{1F467}")).toBe(2); // a family, joined by ZWJ
    expect(displayWidth("\u{1F1EB}\u{1F1F7}")).toBe(2); // a flag: two regional indicators
    expect(displayWidth("1\uFE0F\u20E3")).toBe(2); // a keycap
    expect(cutPainted("\u{1F468}\u200D\u{1F469}\u200D\u{1F467}abc", 4)).toBe(
      "\u{1F468}\u200D\u{1F469}\u200D\u{1F467}a…",
    );
  });

  it("counts invisible characters and every combining mark as 0", () => {
    // Zero-width space, word joiner, left-to-right mark; combining marks past U+036F.
    expect(displayWidth("a\u200Bb\u2060c\u200Ed")).toBe(4);
    expect(displayWidth("\u0915\u093F\u0951")).toBe(2); // कि with a stress sign: the vowel sign is spacing
    expect(displayWidth("x\u20D7y\u1AB0")).toBe(2);
    expect(displayWidth("\u1100\u1161")).toBe(2); // a Hangul syllable from its jamo: the vowel joins
  });
});

describe("renderTerminalTable with emoji and invisible characters", () => {
  it("keeps the columns aligned", () => {
    const out = renderTerminalTable(
      state([agent("⚡fast", "pending", 0, 1), agent("zero\u200Bwid", "pending", 0, 1)]),
      { color: null },
    );
    // Code-unit order puts ⚡ last; its id (impl-⚡fa-163000) is 16 columns wide, the domain 6.
    expect(out.split("\n").slice(0, 3)).toEqual([
      "Domain   Agent             Status       Files  Progress",
      "zero\u200Bwid  impl-zer-163000   Pending      0/1    ░░░░░░░░░░░░░░░░░░░░   0%",
      "⚡fast   impl-⚡fa-163000  Pending      0/1    ░░░░░░░░░░░░░░░░░░░░   0%",
    ]);
  });
});

describe("cutPainted", () => {
  const red = (text: string) => `\u001b[31m${text}\u001b[39m`;

  it("keeps a line that fits as it is, colours and all", () => {
    expect(cutPainted(`ab ${red("cd")}`, 5)).toBe(`ab ${red("cd")}`);
    expect(cutPainted("漢字", 4)).toBe("漢字");
  });

  it("cuts by screen columns, keeps the colour sequences before the cut, and resets them after `…`", () => {
    const cut = cutPainted(`ab ${red("cdefgh")} ij`, 6);
    expect(cut).toBe("ab \u001b[31mcd…\u001b[0m");
    expect(displayWidth(cut.replace(/\u001b\[[0-9;]*m/g, ""))).toBe(6);
    expect(cutPainted("abcdefgh", 4)).toBe("abc…"); // nothing painted: nothing to reset
    expect(cutPainted("漢字漢字", 4)).toBe("漢…"); // a wide character that would straddle the edge goes
  });
});
