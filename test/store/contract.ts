import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import type { RunStore } from "../../src/store/types.js";
import { acquire } from "../../src/sync/leases.js";

/** One run location (an epic directory, a database epic) for one test, and ways to use it as other processes do. */
export interface StoreFixture {
  /** Another handle on the same run, as another process on this or another machine opens it. */
  open(): Promise<RunStore>;
  /** Runs `each` transactions that each add 1 to the run's `seq`, in `processes` separate OS processes. */
  bumpInProcesses(processes: number, each: number): Promise<void>;
  /** Removes the run location (after every handle was closed). */
  dispose(): Promise<void>;
}

export const CONTRACT_GITHUB = {
  issueNumber: null,
  repo: null,
  apiUrl: "https://api.github.com",
  syncEnabled: true,
  commentMode: "edit" as const,
  minIntervalMs: 1000,
};

export function contractRun(now: number): RunState {
  return createRun({ epicId: "CONTRACT", domains: ["a", "b"], now, github: CONTRACT_GITHUB, nonce: "c0de" });
}

const bump = (state: RunState | null): { next: RunState; result: number } => ({
  next: { ...state!, seq: state!.seq + 1 },
  result: state!.seq + 1,
});

/** Resolves on the listener's next call after `arm()`; bounded by the test's timeout. */
function signal() {
  let hit: () => void = () => undefined;
  let calls = 0;
  let waiting: Promise<void> = Promise.resolve();
  return {
    listener: () => {
      calls++;
      hit();
    },
    arm: () => {
      waiting = new Promise<void>((resolve) => {
        hit = resolve;
      });
    },
    next: () => waiting,
    get calls() {
      return calls;
    },
  };
}

/** Resolves once a change of `store` is given a `now` later than `now` (bounded). */
async function clockPast(store: RunStore, now: number): Promise<void> {
  let later = now;
  for (let i = 0; i < 200 && later === now; i++) {
    later = await store.transact((_current, at) => ({ result: at }));
    if (later === now) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(later).toBeGreaterThan(now);
}

/**
 * The behaviour every RunStore owes its callers, run against a real store: `makeFixture` gives a fresh,
 * empty run location per test. The file store runs it in test/store/file-store.contract.test.ts; the
 * PostgreSQL store runs the same suite against a real server.
 */
export function describeRunStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`RunStore contract: ${name}`, () => {
    let fixture: StoreFixture;
    const opened: RunStore[] = [];
    const open = async () => {
      const store = await fixture.open();
      opened.push(store);
      return store;
    };
    beforeEach(async () => {
      fixture = await makeFixture();
    });
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await fixture.dispose();
    });

    it("reads null before a run; persists `next`; leaves the state alone without it; returns the result", async () => {
      const store = await open();
      expect(await store.read()).toBeNull();
      expect(await store.transact((current) => ({ result: current }))).toBeNull();
      const made = await store.transact((_current, now) => {
        const next = contractRun(now);
        return { next, result: next.runId };
      });
      expect((await store.read())?.runId).toBe(made);
      expect(await store.transact((current) => ({ result: current?.seq }))).toBe(1);
      expect((await (await open()).read())?.runId).toBe(made);
      expect(store.location).toEqual(expect.any(String));
    });

    it("gives `now` from the store's clock: a time, not going backwards across transactions", async () => {
      const store = await open();
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push(await store.transact((_current, now) => ({ result: now })));
      for (const [i, now] of seen.entries()) {
        expect(Number.isFinite(now)).toBe(true);
        if (i > 0) expect(now).toBeGreaterThanOrEqual(seen[i - 1]!);
      }
    });

    it("persists nothing from a change that throws, and stays usable", async () => {
      const store = await open();
      await store.transact((_current, now) => ({ next: contractRun(now), result: 0 }));
      await expect(
        store.transact(() => {
          throw new Error("refused");
        }),
      ).rejects.toThrow("refused");
      expect(await store.transact(bump)).toBe(2);
    });

    it("loses no change when transactions race in one process", async () => {
      const store = await open();
      const other = await open();
      await store.transact((_current, now) => ({ next: contractRun(now), result: 0 }));
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).transact(bump)));
      expect((await store.read())?.seq).toBe(21);
    });

    it("loses no change when 4 processes change the run at once", async () => {
      const store = await open();
      await store.transact((_current, now) => ({ next: contractRun(now), result: 0 }));
      await fixture.bumpInProcesses(4, 25);
      expect((await store.read())?.seq).toBe(1 + 4 * 25);
    });

    it("notifies a subscriber of another process's change; stops after unsubscribe", async () => {
      const store = await open();
      await store.transact((_current, now) => ({ next: contractRun(now), result: 0 }));
      const first = signal();
      const stop = await store.subscribe(first.listener);
      first.arm();
      await fixture.bumpInProcesses(1, 1);
      await first.next();
      expect((await store.read())?.seq).toBe(2);
      await stop();
      const callsAfterStop = first.calls;
      // A second subscriber is the barrier: once it has heard of a change, the first would have too.
      const second = signal();
      second.arm();
      await store.subscribe(second.listener);
      await (await open()).transact(bump);
      await second.next();
      expect(first.calls).toBe(callsAfterStop);
    });

    it("expires leases on the store's clock: a dead holder's is taken over once expired, a live one's never", async () => {
      const store = await open();
      const other = await open();
      await store.transact((_current, now) => ({ next: contractRun(now), result: 0 }));
      const take = (on: RunStore, owner: string, ms: number) =>
        on.transact((current, now) => {
          const lease = acquire(current!.sync.lease, owner, now, ms);
          return lease
            ? { next: { ...current!, sync: { ...current!.sync, lease } }, result: true }
            : { result: false };
        });
      expect(await take(store, "dead", 300)).toBe(true);
      expect(await take(other, "alive", 15_000)).toBe(false);
      // Wait on the store's own clock until the lease has run out (bounded).
      let expired = false;
      for (let i = 0; i < 200 && !expired; i++) {
        expired = await other.transact((current, now) => ({ result: current!.sync.lease!.expiresAt <= now }));
        if (!expired) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(expired).toBe(true);
      expect(await take(other, "alive", 15_000)).toBe(true);
      expect(await take(store, "dead", 300)).toBe(false);
      expect((await store.read())!.sync.lease?.owner).toBe("alive");
    });

    it("holds a wait further than an hour from its clock to an hour, written so by the first change that reads it", async () => {
      const store = await open();
      // An older build's, or one past what a date holds (a hand's): writes would stop for years, or crash.
      await store.transact((_current, now) => {
        const run = contractRun(now);
        const waits = { rateLimitedUntil: 1e20, backoffUntil: 4_102_444_800_000 };
        return { next: { ...run, sync: { ...run.sync, ...waits } }, result: 0 };
      });
      const hour = 60 * 60_000;
      const read = (await store.read())!.sync;
      const readBy = store.now?.() ?? Date.now(); // the store's clock (a database's counts fractions of a ms)
      expect(read.rateLimitedUntil).toBeLessThanOrEqual(readBy + hour);
      expect(read.backoffUntil).toBeLessThanOrEqual(readBy + hour);
      // A change that writes nothing still writes the hold: the hour counts from it, not from every read.
      const seen = await store.transact((current, now) => ({ result: { sync: current!.sync, now } }));
      expect(seen.sync).toMatchObject({ rateLimitedUntil: seen.now + hour, backoffUntil: seen.now + hour });
      await clockPast(store, seen.now);
      expect((await (await open()).read())!.sync).toMatchObject({
        rateLimitedUntil: seen.now + hour,
        backoffUntil: seen.now + hour,
      });
    });

    it("holds every other time of its sync to what it can be on its clock, written so by the first change that reads it", async () => {
      const store = await open();
      // A hand's (past what a date holds crashed status, finalize, retry and serve), an older build's
      // (2100), a clock stepped back a day since: each stopped the run's writes until then.
      const year2100 = 4_102_444_800_000;
      const day = 24 * 60 * 60_000;
      await store.transact((_current, now) => {
        const run = contractRun(now);
        const sync = {
          ...run.sync,
          lastWriteAt: now + day,
          lease: { owner: "gone", expiresAt: 1e20 },
          flusher: { owner: "gone", expiresAt: year2100 },
          retryLock: { owner: "gone", expiresAt: now + day },
          settleUntil: 1e20,
          unsureCreate: { kind: "final" as const, until: year2100 },
          writeBudget: { tokens: 0, at: year2100 },
          backoffUntil: "soon" as unknown as number, // no number at all (SQL on a database's run)
        };
        return { next: { ...run, seq: 7, sync }, result: 0 };
      });
      const claim = 15_000; // the longest lease (or window of a request that may still land) ahead
      const read = (await store.read())!.sync;
      const readBy = store.now?.() ?? Date.now(); // the store's clock (a database's counts fractions of a ms)
      expect(read.lastWriteAt).toBeLessThanOrEqual(readBy);
      expect(read.writeBudget!.at).toBeLessThanOrEqual(readBy);
      for (const until of [
        read.lease!.expiresAt,
        read.flusher!.expiresAt,
        read.retryLock!.expiresAt,
        read.settleUntil,
        read.unsureCreate!.until,
      ]) {
        expect(until).toBeLessThanOrEqual(readBy + claim);
      }
      // The first change holds them at its `now` and writes them so (not its seq: nothing happened to the run).
      const seen = await store.transact((current, now) => ({ result: { state: current!, now } }));
      const held = {
        lastWriteAt: seen.now,
        lease: { owner: "gone", expiresAt: seen.now + claim },
        flusher: { owner: "gone", expiresAt: seen.now + claim },
        retryLock: { owner: "gone", expiresAt: seen.now + claim },
        settleUntil: seen.now + claim,
        unsureCreate: { kind: "final", until: seen.now + claim },
        writeBudget: { tokens: 0, at: seen.now },
        backoffUntil: 0,
      };
      expect(seen.state.sync).toMatchObject(held);
      expect(seen.state.seq).toBe(7);
      await clockPast(store, seen.now);
      const reread = (await (await open()).read())!;
      expect(reread.sync).toMatchObject(held);
      expect(reread.seq).toBe(7);
    });

    it("close() stops its subscriptions", async () => {
      const store = await open();
      await store.transact((_current, now) => ({ next: contractRun(now), result: 0 }));
      const closed = signal();
      await store.subscribe(closed.listener);
      await store.close();
      const witness = await open();
      const barrier = signal();
      barrier.arm();
      await witness.subscribe(barrier.listener);
      await witness.transact(bump);
      await barrier.next();
      expect(closed.calls).toBe(0);
    });
  });
}
