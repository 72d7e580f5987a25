import { createRun } from "../../src/model/run.js";
import type { GitHubTarget, RunState } from "../../src/model/types.js";

/** A new run at time 0 that posts to issue o/r#1 (with `github` on top), for the sync decisions' tests. */
export function syncedRun(github: Partial<GitHubTarget> = {}, domains: readonly string[] = ["a"]): RunState {
  return createRun({
    epicId: "E",
    domains: [...domains],
    now: 0,
    github: {
      issueNumber: 1,
      repo: "o/r",
      apiUrl: "http://x",
      syncEnabled: true,
      commentMode: "edit",
      minIntervalMs: 1000,
      ...github,
    },
    nonce: "00",
  });
}
