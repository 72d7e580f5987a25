import { describe, expect, it } from "vitest";
import { checkDomains } from "../../src/config/options.js";
import { UsageError } from "../../src/errors.js";
import { assignAgentIds } from "../../src/model/agent-ids.js";
import { createRun, findAgent } from "../../src/model/run.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

/** Issue 11, item 8: one explicit rule for the names of agents; what is ambiguous is refused. */

const at = Date.parse("2025-10-19T16:30:00Z");
const run = (domains: string[]) => createRun({ epicId: "E", domains, now: at, github, nonce: "ab12" });

describe("findAgent", () => {
  it("takes an agent id, else an exact domain, else a domain ignoring case", () => {
    const state = run(["backend", "Frontend", "tests"]);
    expect(findAgent(state, "impl-bac-163000").domain).toBe("backend");
    expect(findAgent(state, "tests").agentId).toBe("impl-tes-163000");
    expect(findAgent(state, "frontend").agentId).toBe("impl-fro-163000");
    expect(findAgent(state, "BACKEND").agentId).toBe("impl-bac-163000");
  });

  it("takes a domain whatever the form of its accented letters (macOS's e + U+0301 is é)", () => {
    const decomposed = "cafe\u0301";
    const composed = "caf\u00e9";
    expect(findAgent(run([composed]), decomposed).domain).toBe(composed);
    expect(findAgent(run([decomposed]), composed).domain).toBe(decomposed); // a run of an earlier release
    expect(checkDomains([decomposed, "api"])).toEqual([composed, "api"]);
    expect(() => checkDomains([decomposed, composed])).toThrow(/more than once/);
    // The exact domain first, whatever its form, before the domains that differ only in case.
    expect(findAgent(run(["Caf\u00e9", composed]), decomposed).agentId).toBe(
      findAgent(run(["Caf\u00e9", composed]), composed).agentId,
    );
  });

  it("prefers the exact domain to one that differs only in case", () => {
    const state = run(["Back", "BACK"]);
    expect(findAgent(state, "BACK").agentId).toBe("impl-bac-163000-2");
    expect(findAgent(state, "Back").agentId).toBe("impl-bac-163000");
  });

  it("refuses a name that matches several domains ignoring case, listing them", () => {
    const state = run(["Back", "BACK", "bAck"]);
    expect(() => findAgent(state, "back")).toThrow(UsageError);
    expect(() => findAgent(state, "back")).toThrow(
      'agent "back" is ambiguous: it matches the domains of impl-bac-163000 (Back), impl-bac-163000-2 (BACK), impl-bac-163000-3 (bAck) ignoring case: give the agent id or the exact domain',
    );
  });

  it("refuses a name that is one agent's id and another agent's domain (a run of an earlier release)", () => {
    // Ids and domains no longer meet (see the agent ids' tests): such a run was made before.
    const made = run(["x", "y"]);
    const other = made.agents["impl-y-163000"]!;
    const state = {
      ...made,
      agents: {
        "impl-x-163000": made.agents["impl-x-163000"]!,
        "impl-imp-163000": { ...other, agentId: "impl-imp-163000", domain: "impl-x-163000" },
      },
    };
    expect(() => findAgent(state, "impl-x-163000")).toThrow(
      'agent "impl-x-163000" is ambiguous: it is the id of impl-x-163000 (x) and the domain of impl-imp-163000 (impl-x-163000): give impl-imp-163000 for the latter, or the domain "x" for the former',
    );
    expect(findAgent(state, "x").agentId).toBe("impl-x-163000");
    expect(findAgent(state, "impl-imp-163000").domain).toBe("impl-x-163000");
  });

  it("never takes a name of Object.prototype for an agent id", () => {
    // `valueOf` once resolved to Object.prototype.valueOf: `update valueOf` wrote an agent "undefined"
    // into the run (NaN totals, and `status` failed with an internal error).
    const state = run(["a", "toString", "__proto__"]);
    for (const name of ["valueOf", "constructor", "hasOwnProperty", "isPrototypeOf"]) {
      expect(() => findAgent(state, name)).toThrow(`unknown agent "${name}"`);
    }
    expect(findAgent(state, "toString").agentId).toBe("impl-tos-163000");
    expect(findAgent(state, "__proto__").domain).toBe("__proto__");
  });

  it("names an unknown agent escaped, with the run's agents", () => {
    const state = run(["a"]);
    expect(() => findAgent(state, "no\u007fbody\n")).toThrow(
      'unknown agent "no\\u007fbody\\n": expected an agent id or domain of run E-20251019T163000Z-ab12: impl-a-163000 (a)',
    );
  });

  it("shows the run's agents' domains shortened and escaped, as any name a message shows", () => {
    // 200-character domains full of bidi controls had made one line of 4,000 characters.
    const state = run([`${"W".repeat(200)}1`, `${"\u202e".repeat(200)}2`, "b"]);
    const message = (() => {
      try {
        findAgent(state, "nope");
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    })();
    expect(message).toMatch(
      /^unknown agent "nope": expected an agent id or domain of run \S+: impl-\S+ \(W+\.\.\.\), /,
    );
    expect(message).not.toContain("W".repeat(81));
    expect(message).toContain("(\\u202e");
    expect(message).not.toContain("\u202e");
  });
});

describe("assignAgentIds at scale", () => {
  it("gives 10,000 domains that share a base unique ids in order, -2 to -10000", () => {
    const domains = Array.from({ length: 10_000 }, (_, index) => `aaa${index}`);
    const ids = assignAgentIds(domains, new Date(at));
    expect(new Set(ids).size).toBe(10_000);
    expect(ids.slice(0, 3)).toEqual(["impl-aaa-163000", "impl-aaa-163000-2", "impl-aaa-163000-3"]);
    expect(ids.at(-1)).toBe("impl-aaa-163000-10000");
  });
});
