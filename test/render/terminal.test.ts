import { describe, expect, it } from "vitest";
import type { AgentState, AgentStatus, RunState } from "../../src/model/types.js";
import { type Colors, displayWidth, progressBar, renderTerminalTable } from "../../src/render/terminal.js";

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
        "2 pending, 1 running, 0 completed, 0 failed",
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
    expect(out).toContain("<b>Overall:</b> 67% (4/6 files)");
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
    expect(out).toContain("1 pending, 0 running, 0 completed, 0 failed, 1 cancelled");
    expect(out).toMatch(/\n {2}evil\[2Jx+…: stop now$/);
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
});
