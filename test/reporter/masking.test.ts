import { describe, expect, it } from "vitest";
import { applyFail, createRun } from "../../src/model/run.js";
import { stateWithout } from "../../src/reporter/masking.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";

const token = "0123456789abcdef0123456789abcdef76543210";

describe("stateWithout", () => {
  it("masks the text a run shows, its last GitHub error included, and leaves its ids", () => {
    const run = createRun({ epicId: "E", domains: ["a"], now: Date.UTC(2026, 0, 1), github, nonce: "ab12" });
    const agentId = Object.keys(run.agents)[0]!;
    const failed = applyFail(run, agentId, `push with ${token} failed`, Date.UTC(2026, 0, 1, 0, 1));
    const state = {
      ...failed,
      sync: { ...failed.sync, lastError: `this call's GitHub API is https://ghe.example.com/${token}` },
    };
    const masked = stateWithout(state, [token]);
    expect(masked.agents[agentId]!.error).toBe("push with *** failed");
    expect(masked.sync.lastError).toBe("this call's GitHub API is https://ghe.example.com/***");
    expect(masked.runId).toBe(state.runId);
    expect(Object.keys(masked.agents)).toEqual([agentId]);
  });
});
