import { describe, expect, it } from "vitest";
import { changeLine, describeChange, frameLines } from "../../src/cli/watch-frames.js";
import { applyAdd, applyLog, applyProgress, createRun } from "../../src/model/run.js";
import { renderTerminalTable } from "../../src/render/terminal.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

/** `watch` with nested agents: the child's event named by the child, totals counting leaves once. */

const t0 = Date.parse("2025-10-19T16:30:00Z");

function nested() {
  let state = createRun({
    epicId: "E",
    domains: ["backend"],
    now: t0,
    github,
    nonce: "ab12",
  });
  state = applyAdd(state, ["api", "db"], "backend", t0 + 1000).state;
  return applyProgress(state, "api", { status: "in_progress", filesCompleted: 1, filesTotal: 4 }, t0 + 2000);
}

describe("watch with nested agents", () => {
  it("names the child that logged an event, although its parent's log has it too", () => {
    const before = nested();
    const after = applyLog(before, "api", "compiled", t0 + 3000);
    expect(describeChange(after, before)).toBe("Agent impl-api-163001: compiled");
    expect(changeLine(after, before, t0 + 3000)).toMatch(
      / — 25% \(1\/4 files\), 1 pending, 2 running, 0 completed, 0 failed$/,
    );
  });

  it("draws the children under their parent in the full-screen frame", () => {
    const state = nested();
    const lines = frameLines(state, {
      table: renderTerminalTable(state, { color: null }),
      watching: "/x",
      bold: null,
    });
    const rows = lines.filter((line) => line.includes("impl-"));
    expect(rows.map((line) => line.slice(0, line.indexOf("impl-")).trimEnd())).toEqual([
      "backend",
      "└ api",
      "└ db",
    ]);
  });
});
