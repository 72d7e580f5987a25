import { describe, expect, it } from "vitest";
import { applyAbandon, applyFinalize } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import type { QueueItem } from "../../src/queue/types.js";
import type { RunStore } from "../../src/store/types.js";
import { queuedProgress } from "../../src/sync/queued-progress.js";
import { syncedRun } from "./fixtures.js";

/** What a retry sends for a queued progress entry of a run that is not the store's (src/sync/queued-progress.ts). */
const run = syncedRun();
const item = (abandoned: boolean): QueueItem => ({
  issue_number: 1,
  comment: "as queued",
  timestamp: new Date(0).toISOString(),
  repo: "o/r",
  api_url: "http://x",
  kind: "progress",
  comment_mode: "edit",
  run_id: run.runId,
  seq: 1,
  reason: "GitHub was down",
  outcome_unknown: false,
  unsure_until: null,
  ...(abandoned ? { abandoned: true } : {}),
});

/** A store that keeps every run (`kept`: the one it shows for the entry's run id), or only the latest. */
function storeOf(kept: RunState | null | "latest only"): RunStore {
  return {
    location: "test",
    read: async () => null,
    ...(kept === "latest only" ? {} : { readRun: async () => kept }),
    transact: () => Promise.reject(new Error("not used")),
    subscribe: () => Promise.reject(new Error("not used")),
    close: async () => undefined,
  };
}

const send = (kept: RunState | null | "latest only", abandoned: boolean) =>
  queuedProgress({ store: storeOf(kept), clock: { now: () => 5000 } }, item(abandoned));

describe("a queued progress entry of another run", () => {
  it("is sent as queued where the store keeps no such run; a mark as an edit only", async () => {
    expect(await send("latest only", false)).toEqual({ body: "as queued", seq: 1, mark: false });
    expect(await send("latest only", true)).toEqual({ body: "as queued", seq: 1, mark: true });
    expect(await send(null, false)).toEqual({ body: "as queued", seq: 1, mark: false });
  });

  it("of a run the store shows abandoned is its mark, rendered from the run as the store keeps it", async () => {
    const post = await send(applyAbandon(run, 3000), false);
    expect(post).toMatchObject({ seq: run.seq + 1, mark: true });
    expect(post!.body).toContain("**Run abandoned: a new run of the epic was started (init --force)**");
  });

  it("of a run the store shows not abandoned is sent as queued, unless it is a mark (nothing then)", async () => {
    const finalized = applyFinalize(run, "merged", 3000);
    expect(await send(finalized, false)).toEqual({ body: "as queued", seq: 1, mark: false });
    expect(await send(finalized, true)).toBeNull();
  });
});
