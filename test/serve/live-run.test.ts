import { describe, expect, it } from "vitest";
import { applyProgress, createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { type LiveMessage, LiveRun } from "../../src/serve/live-run.js";
import { GITHUB_TARGET } from "../render/fixtures.js";
import { waitFor } from "../support/cli.js";

const T0 = Date.UTC(2025, 9, 19, 16, 30, 0);

/** A run held in memory with the store's read/subscribe shape; `notify` is what a commit would do. */
function memorySource(first: RunState | null) {
  let state = first;
  let failure: Error | null = null;
  let listener: (() => void) | null = null;
  let reads = 0;
  let hang = false;
  return {
    source: {
      location: "memory",
      read: async () => {
        reads += 1;
        if (hang) return new Promise<never>(() => undefined);
        if (failure) throw failure;
        return state;
      },
      subscribe: async (next: () => void) => {
        listener = next;
        return async () => {
          listener = null;
        };
      },
    },
    set: (next: RunState | null) => {
      state = next;
    },
    fail: (error: Error | null) => {
      failure = error;
    },
    notify: () => listener?.(),
    get reads() {
      return reads;
    },
    /** Reads from now on never answer (a database that stopped answering). */
    hang: () => {
      hang = true;
    },
  };
}

async function started(state: RunState | null, clock: { now: number }) {
  const memory = memorySource(state);
  const live = new LiveRun(memory.source, () => clock.now);
  const messages: LiveMessage[] = [];
  live.listen((message) => messages.push(message));
  await live.start();
  return { memory, live, messages };
}

const newRun = () =>
  createRun({
    epicId: "E",
    domains: ["a", "b"],
    now: T0,
    github: { ...GITHUB_TARGET, issueNumber: null, repo: null },
    nonce: "0000",
  });

describe("serve: the live run (store notifications to page messages)", () => {
  it("sends a snapshot first, then a change per new state, and nothing for a notification with none", async () => {
    const clock = { now: T0 };
    let state = newRun();
    const { memory, live, messages } = await started(state, clock);
    try {
      expect(messages.map((m) => m.kind)).toEqual(["snapshot"]);
      state = applyProgress(
        state,
        "a",
        { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
        T0 + 1000,
      );
      memory.set(state);
      memory.notify();
      memory.notify(); // a burst: coalesced into the reads it needs
      await live.refresh();
      const changes = messages.filter((m) => m.kind === "change");
      expect(changes).toHaveLength(1);
      expect(changes[0]).toMatchObject({ rows: { changed: [{ domain: "a", filesCompleted: 1 }] } });
      await live.refresh();
      expect(messages.filter((m) => m.kind === "change")).toHaveLength(1);
    } finally {
      await live.stop();
    }
  });

  it("marks a silent agent stalled when the time alone moves on (no change in the store)", async () => {
    const clock = { now: T0 };
    const state = newRun();
    const { live, messages } = await started(state, clock);
    try {
      live.recompute();
      expect(messages).toHaveLength(1);
      clock.now = T0 + state.stallAfterMs + 1000;
      live.recompute();
      const change = messages.at(-1);
      expect(change).toMatchObject({
        kind: "change",
        run: { countsText: expect.stringContaining("2 stalled") },
      });
      expect(change?.kind === "change" && change.rows.changed.every((row) => row.stalled)).toBe(true);
    } finally {
      await live.stop();
    }
  });

  it("judges the run at the store's clock when the store has one (a database), not this machine's", async () => {
    const state = newRun();
    const memory = memorySource(state);
    const storeClock = { now: T0 + 1000 };
    // This machine's clock is far ahead of the database's: every agent would look stalled at it.
    const live = new LiveRun(
      { ...memory.source, now: () => storeClock.now },
      () => T0 + 10 * state.stallAfterMs,
    );
    const messages: LiveMessage[] = [];
    live.listen((message) => messages.push(message));
    await live.start();
    try {
      const snapshot = messages[0];
      expect(snapshot?.kind === "snapshot" && snapshot.view?.run.countsText).not.toContain("stalled");
      storeClock.now = T0 + state.stallAfterMs + 1000;
      live.recompute();
      expect(messages.at(-1)).toMatchObject({
        kind: "change",
        run: { countsText: expect.stringContaining("2 stalled") },
      });
    } finally {
      await live.stop();
    }
  });

  it("reports a state it cannot read once, and brings pages back when it can again", async () => {
    const clock = { now: T0 };
    const { memory, live, messages } = await started(newRun(), clock);
    try {
      memory.fail(new Error("state.json is not valid JSON"));
      await live.refresh();
      await live.refresh();
      expect(messages.filter((m) => m.kind === "problem")).toEqual([
        { kind: "problem", message: "state.json is not valid JSON" },
      ]);
      memory.fail(null);
      await live.refresh();
      expect(messages.at(-1)?.kind).toBe("change");
      memory.set(null);
      await live.refresh();
      expect(messages.at(-1)).toEqual({ kind: "snapshot", location: "memory", view: null, history: null });
      expect(live.current).toBeNull();
    } finally {
      await live.stop();
    }
  });

  it("reads again after a failed read on its own, with no change to notify it (a grant back, a slot free)", async () => {
    const clock = { now: T0 };
    const { memory, live, messages } = await started(newRun(), clock);
    try {
      memory.fail(new Error("permission denied for table agents"));
      await live.refresh();
      expect(live.problem).toBe("permission denied for table agents");
      memory.fail(null);
      // No notification: the view asks again by itself (after half a second, then longer).
      expect(await waitFor(() => live.problem === null, 10_000, 20)).toBe(true);
      expect(messages.at(-1)?.kind).toBe("change");
    } finally {
      await live.stop();
    }
  });

  it("stops without waiting for a read that hangs, and says nothing of it", async () => {
    // A read on a frozen database ends only when the store is closed, after stop: stop waited for it,
    // and serve took seconds to end on SIGTERM.
    const { memory, live, messages } = await started(newRun(), { now: T0 });
    memory.hang();
    void live.refresh();
    expect(await waitFor(() => memory.reads === 2, 5000, 5)).toBe(true);
    const count = messages.length;
    await live.stop();
    expect(messages).toHaveLength(count);
  });

  it("gathers a burst of notifications, each made after the read before it ended, into a few reads", async () => {
    // A file store's read ends within the notification that asked for it: a read per change had made
    // serve fall seconds behind a burst (1,200 updates: 1,200 reads of the whole run).
    const clock = { now: T0 };
    const { memory, live, messages } = await started(newRun(), clock);
    try {
      let state = newRun();
      const agent = Object.keys(state.agents)[0]!;
      const before = memory.reads;
      for (let done = 1; done <= 200; done++) {
        state = {
          ...applyProgress(
            state,
            agent,
            { status: "in_progress", filesCompleted: done, filesTotal: 200 },
            T0,
          ),
          seq: state.seq + done,
        };
        memory.set(state);
        memory.notify();
        await new Promise((resolve) => setImmediate(resolve));
      }
      // The last change is read, in fewer reads than changes.
      expect(
        await waitFor(
          () => {
            const last = messages.at(-1);
            return last?.kind === "change" && last.run.overall.filesCompleted === 200;
          },
          10_000,
          5,
        ),
      ).toBe(true);
      expect(memory.reads - before).toBeLessThan(200);
    } finally {
      await live.stop();
    }
  });
});
