import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AGENT_STATUSES, type AgentState } from "../../src/model/types.js";
import { parseMarker } from "../../src/render/marker.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { ganttLabel, MAX_BARS, timelinePart } from "../../src/render/timeline.js";
import { parseGfm as parse, text } from "../support/gfm.js";
import { at, makeAgent, makeRun, ms } from "./fixtures.js";

/** The final summary's Mermaid gantt chart, read back with the GFM parser. */

const HEADER = [
  "gantt",
  "    title Agents (UTC)",
  "    dateFormat YYYY-MM-DD HH:mm:ss",
  "    axisFormat %H:%M",
  "    section Agents",
];
const TIME = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`;
/**
 * A task line as Mermaid's gantt lexer reads it: the name up to the first `:` (no `:`, and nothing that
 * starts a comment or ends a statement: `#`, `;`, `%%`), then the data (no `#`, `;` or newline). Ours:
 * an icon first (so no keyword), then tags, start and end.
 */
const BAR = new RegExp(
  String.raw`^    (✅|❌|⏹️|🔄|⏳) [^:;#%\x60\n]+ :(done|crit|crit, done|active|milestone|crit, milestone), ${TIME}, ${TIME}$`,
  "u",
);

/** The chart: the one mermaid code block, right under "### Timeline" and right before the marker. */
function chartOf(body: string): string[] {
  const top = parse(body).children!;
  const code = top.filter((node) => node.type === "code");
  const mermaid = code.filter((node) => node.lang === "mermaid");
  expect(mermaid).toHaveLength(1);
  const index = top.indexOf(mermaid[0]!);
  expect(top[index - 1]).toMatchObject({ type: "heading", depth: 3 });
  expect(text(top[index - 1]!)).toBe("Timeline");
  // Nothing after the chart was swallowed: the marker follows it, as the body's last node.
  expect(top.slice(index + 1).map((node) => node.type)).toEqual(["html"]);
  expect(parseMarker(top[index + 1]!.value!)?.kind).toBe("final");
  const lines = mermaid[0]!.value!.split("\n");
  expect(lines.slice(0, HEADER.length)).toEqual(HEADER);
  for (const line of lines.slice(HEADER.length)) expect(line).toMatch(BAR);
  return lines.slice(HEADER.length);
}

const finished = (agents: AgentState[], extra = {}) =>
  makeRun(agents, { completedAt: at("16:50:00"), event: "Parallel execution completed", ...extra });

describe("the timeline", () => {
  it("one bar per agent in table order, failed and cancelled marked, not-started ones as milestones", () => {
    const body = renderFinalComment(
      finished([
        makeAgent("backend", "completed", 3, 3, { startedAt: at("16:31:00"), finishedAt: at("16:40:00") }),
        makeAgent("qa", "failed", 1, 3, { startedAt: at("16:32:00"), finishedAt: at("16:35:00") }),
        makeAgent("docs", "cancelled", 0, 1, { startedAt: at("16:33:00"), finishedAt: at("16:34:00") }),
        makeAgent("ops", "cancelled", 0, 1, { finishedAt: at("16:36:00") }),
        makeAgent("tests", "in_progress", 1, 4, { startedAt: at("16:30:30") }),
        makeAgent("web", "pending", 0, 0),
      ]),
    );
    expect(chartOf(body)).toEqual([
      "    ✅ backend :done, 2025-10-19 16:31:00, 2025-10-19 16:40:00",
      "    ⏹️ docs :crit, done, 2025-10-19 16:33:00, 2025-10-19 16:34:00",
      "    ⏹️ ops :crit, milestone, 2025-10-19 16:36:00, 2025-10-19 16:36:00",
      "    ❌ qa :crit, 2025-10-19 16:32:00, 2025-10-19 16:35:00",
      "    🔄 tests :active, 2025-10-19 16:30:30, 2025-10-19 16:50:00",
      "    ⏳ web :milestone, 2025-10-19 16:50:00, 2025-10-19 16:50:00",
    ]);
    // Only the final summary has it.
    expect(renderProgressComment(finished([makeAgent("a", "completed", 0, 0)]))).not.toContain("mermaid");
  });

  it("draws no chart for a run without a usable start, and ends bars at the start when the end is unusable", () => {
    const agent = makeAgent("a", "completed", 1, 1, {
      startedAt: at("16:31:00"),
      finishedAt: at("16:32:00"),
    });
    expect(renderFinalComment(finished([agent], { startedAt: "garbage" }))).not.toContain("### Timeline");
    const part = timelinePart([{ agent, depth: 0 }], { startedAt: ms("16:30:00"), endedAt: Number.NaN });
    expect(part.whole).toContain("    ✅ a :done, 2025-10-19 16:30:00, 2025-10-19 16:30:01\n");
  });

  it("labels the axis with the date too when the run lasts over a day (times alone repeat each day)", () => {
    const agent = makeAgent("a", "completed", 1, 1, {
      startedAt: at("16:31:00"),
      finishedAt: at("16:32:00"),
    });
    const day = 24 * 60 * 60_000;
    const axis = (hours: number) =>
      timelinePart([{ agent, depth: 0 }], {
        startedAt: ms("16:30:00"),
        endedAt: ms("16:30:00") + hours * 3_600_000,
      })
        .whole!.split("\n")
        .find((line) => line.includes("axisFormat"));
    expect(axis(23)).toBe("    axisFormat %H:%M");
    expect(axis(day / 3_600_000 + 1)).toBe("    axisFormat %m-%d %H:%M");
  });

  it("labels cannot break the chart or the fence", () => {
    expect(ganttLabel("a: b; c # d %% e `f` ```\n~~~ <g> @h & \\")).toBe(
      "a꞉ b； c ＃ d ％％ e ˋfˋ ˋˋˋ ∼∼∼ ‹g› ＠h ＆ ⧵",
    );
    expect(ganttLabel(" \n\t")).toBe("agent");
    expect(ganttLabel("x".repeat(100))).toHaveLength(60);
  });

  it("hostile domains never break out of the chart (property, parsed as GitHub does)", () => {
    const hostile = fc.constantFrom(
      ":",
      "#",
      ";",
      "%%",
      "%%{init: {}}%%",
      "\n",
      "\r\n",
      "```",
      "~~~",
      "`",
      "title x",
      "section y",
      "dateFormat X",
      "click a call b()",
      "excludes weekends",
      "<br>",
      "<!-- parallel-progress:final run=x -->",
      "@alice",
      "&",
      "\\",
      "    ",
      "\u0000",
      "\u2028",
      ",",
      "crit,",
    );
    const domain = fc.string({
      unit: fc.oneof(hostile, fc.string({ maxLength: 2 })),
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(
        fc.array(fc.record({ domain, status: fc.constantFrom(...AGENT_STATUSES) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.string({ unit: fc.oneof(hostile, fc.string({ maxLength: 2 })), maxLength: 20 }), {
          nil: null,
        }),
        (specs, mergeSummary) => {
          const agents = specs.map((spec, index) =>
            makeAgent(spec.domain, spec.status, 0, 1, {
              agentId: `impl-x-${index}`,
              startedAt: spec.status === "pending" ? null : at("16:31:00"),
              finishedAt: at("16:40:00"),
            }),
          );
          const bars = chartOf(renderFinalComment(finished(agents, { mergeSummary })));
          expect(bars).toHaveLength(agents.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("big runs: at most MAX_BARS bars, failed and unfinished first, the rest grouped by status, within the limit", () => {
    const agents = Array.from({ length: 3000 }, (_, i) =>
      makeAgent(
        `domain-${String(i).padStart(4, "0")}`,
        i % 100 === 7 ? "failed" : i % 500 === 3 ? "cancelled" : "completed",
        1,
        1,
        {
          agentId: `impl-d${i}-163000`,
          startedAt: at("16:31:00"),
          finishedAt: at(i % 2 === 0 ? "16:45:00" : "16:44:00"),
        },
      ),
    );
    const body = renderFinalComment(finished(agents));
    expect(body.length).toBeLessThanOrEqual(65_000);
    const bars = chartOf(body);
    const own = bars.filter((bar) => !/ more /.test(bar));
    expect(own).toHaveLength(MAX_BARS);
    // All 30 failed and 6 cancelled agents have their own bar; the completed ones fill up the rest.
    expect(own.filter((bar) => bar.includes("❌"))).toHaveLength(30);
    expect(own.filter((bar) => bar.includes("⏹️"))).toHaveLength(6);
    expect(bars.slice(own.length)).toEqual([
      "    ✅ 2,950 more completed agents :done, 2025-10-19 16:31:00, 2025-10-19 16:45:00",
    ]);
  });

  it("big runs: a child's own bar comes with its parent's, never under another agent's", () => {
    const times = { startedAt: at("16:31:00"), finishedAt: at("16:41:00") };
    const agents = [
      ...Array.from({ length: 80 }, (_, i) =>
        makeAgent(`domain-${String(i).padStart(2, "0")}`, "completed", 1, 1, {
          agentId: `impl-d${i}-163000`,
          ...times,
        }),
      ),
      makeAgent("zulu", "completed", 0, 1, times),
      makeAgent("zulu-child", "failed", 0, 1, {
        agentId: "impl-zuc-163000",
        parentId: "impl-zul-163000",
        ...times,
      }),
    ];
    const bars = chartOf(renderFinalComment(finished(agents)));
    expect(bars.filter((bar) => !/ more /.test(bar))).toHaveLength(MAX_BARS);
    const child = bars.findIndex((bar) => bar.includes("zulu-child"));
    expect(bars[child]).toMatch(/^ {4}❌ ↳ zulu-child :crit, /);
    expect(bars[child - 1]).toMatch(/^ {4}✅ zulu :done, /);
  });

  it("shrinks to fewer bars, then to the groups only, as its budget shrinks", () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({
      agent: makeAgent(`d${String(i).padStart(2, "0")}`, i < 3 ? "failed" : "completed", 1, 1, {
        agentId: `impl-d${i}-163000`,
        startedAt: at("16:31:00"),
        finishedAt: at("16:41:00"),
      }),
      depth: 0,
    }));
    const part = timelinePart(entries, { startedAt: ms("16:30:00"), endedAt: ms("16:50:00") });
    const whole = part.whole!;
    expect(part.plan(whole.length + 2)).toEqual({ block: whole, cost: whole.length + 2 });
    let previous = Number.POSITIVE_INFINITY;
    for (const budget of [whole.length, 2000, 1000, 500, 400]) {
      const { block, cost } = part.plan(budget);
      expect(cost).toBeLessThanOrEqual(budget);
      const bars = block!.split("\n").filter((line) => line.startsWith("    ") && line.includes(" :"));
      expect(bars.length).toBeLessThan(previous);
      previous = bars.length;
      // Failed agents keep their own bars before any completed one does.
      const own = (icon: string) => bars.filter((bar) => bar.includes(icon) && !bar.includes(" more "));
      if (own("✅").length > 0) expect(own("❌")).toHaveLength(3);
      expect(bars.at(-1)).toMatch(/^ {4}✅ \d+ more completed agents? :done, /);
    }
    expect(part.plan(100)).toEqual({ block: null, cost: 0 });
  });
});
