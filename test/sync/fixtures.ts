import type { IssueCommentsClient } from "../../src/github/types.js";
import { createRun } from "../../src/model/run.js";
import type { GitHubTarget, RunState } from "../../src/model/types.js";
import { OfflineQueue } from "../../src/queue/offline-queue.js";
import type { RunStore } from "../../src/store/types.js";
import type { SyncDeps } from "../../src/sync/run-syncer.js";
import type { Clock, FileSystem } from "../../src/util/io.js";

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

/**
 * What a RunSyncer of `owner` needs in a test on a simulated clock: the queue in `/epic` on `fs`, a sleep
 * that moves the clock at once (`advance`), `client` for every API, and no background writer or warning
 * (the test drives the writes itself).
 */
export function syncDeps(parts: {
  fs: FileSystem;
  clock: Clock;
  advance: (ms: number) => void;
  client: IssueCommentsClient;
  store: RunStore;
  owner: string;
  leaseMs?: number;
}): SyncDeps {
  const { fs, clock, advance, client, store, owner, leaseMs } = parts;
  return {
    store,
    queue: new OfflineQueue(fs, "/epic", clock),
    clock,
    // The simulated clock is the timer too: deadlines and waits move with `advance` alone.
    timer: clock,
    sleep: async (ms) => {
      advance(ms);
    },
    client: async () => client,
    startBackgroundWriter: () => undefined,
    warn: () => undefined,
    owner,
    ...(leaseMs === undefined ? {} : { leaseMs }),
  };
}
