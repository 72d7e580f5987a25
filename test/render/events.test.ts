import { describe, expect, it } from "vitest";
import type { AgentState } from "../../src/model/types.js";
import { EVENTS_FRAME, eventItems } from "../../src/render/events.js";
import { planList } from "../../src/render/lists.js";
import { renderFinalComment, renderProgressComment } from "../../src/render/progress-comment.js";
import { at, makeAgent, makeRun, STARTED } from "./fixtures.js";

const ZWJ = "\u200D";

function withEvents(agent: AgentState, ...messages: string[]): AgentState {
  agent.events = messages.map((message, index) => ({
    at: at(`16:${String(31 + index).padStart(2, "0")}:00`),
    message,
  }));
  return agent;
}

describe("recent events", () => {
  it("shows the last three events of each agent that has any, in table order, escaped", () => {
    const items = eventItems(
      [
        withEvents(makeAgent("a|b", "in_progress", 1, 2), "one", "two", "three", "four @x <!-- -->"),
        makeAgent("silent", "pending", 0, 1),
        withEvents(makeAgent("tests", "completed", 1, 1), "done\r\nreally `ok`"),
      ],
      STARTED,
    );
    expect(items).toEqual([
      { line: "- **a\\|b** (impl-a\\|b-163000), 16:32:00: two", priority: 2 },
      { line: "- **a\\|b** (impl-a\\|b-163000), 16:33:00: three", priority: 1 },
      { line: `- **a\\|b** (impl-a\\|b-163000), 16:34:00: four @${ZWJ}x &lt;\\!-- --&gt;`, priority: 0 },
      { line: "- **tests** (impl-tes-163000), 16:31:00: done<br>really \\`ok\\`", priority: 0 },
    ]);
  });

  it("dates an event of another day, shows a broken time as given, cuts long messages", () => {
    const agent = makeAgent("backend", "in_progress", 1, 2);
    agent.events = [
      { at: "2025-10-20T01:02:03.000Z", message: "x".repeat(300) },
      { at: "yesterday <b>", message: "" },
    ];
    const [late, broken] = eventItems([agent], STARTED);
    expect(late!.line).toBe(`- **backend** (impl-bac-163000), 2025-10-20 01:02:03: ${"x".repeat(199)}…`);
    expect(broken!.line).toBe("- **backend** (impl-bac-163000), yesterday &lt;b&gt;: ");
  });

  it("a run without events has no block; a state from before event logs renders", () => {
    const state = makeRun([makeAgent("backend", "pending", 0, 1)]);
    expect(renderProgressComment(state)).not.toContain("<details>");
    delete (state.agents["impl-bac-163000"] as Partial<AgentState>).events;
    expect(renderProgressComment(state)).toContain("| backend |");
  });

  it("is cut first when the body is too long: each agent's newest event kept longest, no row folded", () => {
    const agents = Array.from({ length: 20 }, (_, index) =>
      withEvents(
        makeAgent(`domain-${String(index).padStart(2, "0")}`, index % 2 ? "completed" : "in_progress", 1, 1, {
          agentId: `impl-d${index}-163000`,
        }),
        ...[1, 2, 3].map((n) => `event ${n} ${"e".repeat(100)}`),
      ),
    );
    const state = makeRun(agents);
    const withoutEvents = renderProgressComment(makeRun(agents.map((agent) => ({ ...agent, events: [] }))));
    const maxLength = withoutEvents.length + 3_600; // room for about 22 of the 60 event lines
    const body = renderProgressComment(state, { maxLength });
    expect(body.length).toBeLessThanOrEqual(maxLength);
    expect(body.match(/ \| ✅ Completed \| /g)).toHaveLength(10);
    const shown = body.match(/^- \*\*domain-\d\d\*\* .*: event (\d) e+$/gm) ?? [];
    expect(shown.length).toBeGreaterThanOrEqual(20);
    expect(shown.filter((line) => line.includes(": event 3 "))).toHaveLength(20);
    expect(shown.filter((line) => line.includes(": event 1 "))).toHaveLength(0);
    expect(body).toContain(`\n- … ${60 - shown.length} more events not shown\n\n</details>\n\n<!--`);
  });

  it("is one line saying how many are not shown when even its frame does not fit, at the exact limit", () => {
    const agents = Array.from({ length: 5 }, (_, index) =>
      withEvents(makeAgent(`d${index}`, "completed", 1, 1, { agentId: `impl-d${index}-163000` }), "hello"),
    );
    const state = makeRun(agents);
    const bare = renderProgressComment(makeRun(agents.map((agent) => ({ ...agent, events: [] }))));
    const note = "… 5 recent events not shown";
    const marker = bare.slice(bare.lastIndexOf("\n\n<!--"));
    const noted = `${bare.slice(0, -marker.length)}\n\n${note}${marker}`;
    // Room for the note and every row: the rows stay, the note sits where the events would.
    expect(renderProgressComment(state, { maxLength: noted.length })).toBe(noted);
    // Room for the block cut to its "more" line: that block instead.
    const least = `<details><summary>Recent events</summary>\n\n- … 5 more events not shown\n\n</details>`;
    const cut = `${bare.slice(0, -marker.length)}\n\n${least}${marker}`;
    expect(renderProgressComment(state, { maxLength: cut.length })).toBe(cut);
    expect(renderProgressComment(state, { maxLength: cut.length - 1 })).toBe(noted);
    // One character less than the note and the rows: the completed rows fold (the rows cannot all stay
    // beside the note), and the events take the room that frees.
    const tight = renderProgressComment(state, { maxLength: noted.length - 1 });
    expect(tight.length).toBeLessThanOrEqual(noted.length - 1);
    expect(tight).toContain(`\n\n✅ 5 completed domains not listed\n\n`);
    expect(tight).toMatch(
      /<summary>Recent events<\/summary>\n\n(- \*\*d\d\*\* .+: hello\n){3}- … 2 more events not shown\n\n<\/details>\n\n<!--/,
    );
    // One event: singular.
    const one = makeRun([
      withEvents(makeAgent("d0", "completed", 1, 1, { agentId: "impl-d0-163000" }), "hi"),
    ]);
    const oneBare = renderProgressComment(
      makeRun([makeAgent("d0", "completed", 1, 1, { agentId: "impl-d0-163000" })]),
    );
    expect(renderProgressComment(one, { maxLength: oneBare.length + 40 })).toContain(
      "\n\n… 1 recent event not shown\n\n<!--",
    );
  });

  it("sits between the failures and the final summary", () => {
    const state = makeRun([withEvents(makeAgent("qa", "failed", 0, 1, { error: "boom" }), "started")], {
      completedAt: at("16:40:00"),
    });
    const body = renderFinalComment(state);
    expect(body).toContain(
      "- qa (impl-qa-163000): boom\n\n<details><summary>Recent events</summary>\n\n- **qa** (impl-qa-163000), 16:31:00: started\n\n</details>\n\n## 🎉 Final Summary",
    );
  });
});

describe("planList", () => {
  const items = ["a", "b", "c", "d", "e"].map((name, index) => ({
    line: `- ${name.repeat(10)}`,
    priority: [4, 0, 3, 1, 2][index]!,
  }));
  const frame = EVENTS_FRAME.wrap([EVENTS_FRAME.more(5)]).length + 2;

  it("keeps the whole list when it fits", () => {
    const whole = planList(items, EVENTS_FRAME, 1000);
    expect(whole.block).toBe(
      `<details><summary>Recent events</summary>\n\n${items.map((item) => item.line).join("\n")}\n\n</details>`,
    );
    expect(whole.cost).toBe(whole.block!.length + 2);
    expect(planList([], EVENTS_FRAME, 1000)).toEqual({ block: null, cost: 0 });
  });

  it("else the items ranked first that fit, in their own order, and a note; below the frame, one line", () => {
    const cut = planList(items, EVENTS_FRAME, frame + 26);
    expect(cut.block).toBe(
      "<details><summary>Recent events</summary>\n\n- bbbbbbbbbb\n- dddddddddd\n- … 3 more events not shown\n\n</details>",
    );
    expect(cut.cost).toBeLessThanOrEqual(frame + 26);
    expect(planList(items, EVENTS_FRAME, frame).block).toContain("\n\n- … 5 more events not shown\n\n");
    // Below the frame, the one-line note while it fits; then nothing.
    const note = "… 5 recent events not shown";
    expect(planList(items, EVENTS_FRAME, frame - 1)).toEqual({ block: note, cost: note.length + 2 });
    expect(planList(items, EVENTS_FRAME, note.length + 2)).toEqual({ block: note, cost: note.length + 2 });
    expect(planList(items, EVENTS_FRAME, note.length + 1)).toEqual({ block: null, cost: 0 });
  });
});
