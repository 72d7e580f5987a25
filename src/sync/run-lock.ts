import { LockTimeoutError } from "../errors.js";
import type { Lease, RunState } from "../model/types.js";
import type { RunStore } from "../store/types.js";
import { acquire, releaseHeld, renewHeld } from "./leases.js";
import { RETRY_LOCK_MS, RETRY_LOCK_WAIT_MS } from "./timings.js";
import { Wakeup } from "./wakeup.js";

interface RunLockOptions {
  store: RunStore;
  /** The random token of whoever retries (see SyncDeps.owner). */
  owner: string;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The lease's length on the store's clock; the holder renews it every third of it while it works. */
  leaseMs?: number;
  /** The longest a caller waits for the lock before giving up (LockTimeoutError). */
  waitMs?: number;
  /** With no run at all, how `work` is run (default: as it is). */
  withoutRun?: <T>(work: () => Promise<T>) => Promise<T>;
}

type Attempt = { kind: "held" } | { kind: "busy"; for: number } | { kind: "no-run" };

/**
 * Runs `work` holding the run's queue-retry lock (`RunState.sync.retryLock`), a lease in the shared state
 * so that one retry at a time runs per run, across processes and machines. A waiting caller wakes on the
 * store's notifications (the holder's release is a change). `work` gets a signal that aborts if the lease
 * was lost (this process stalled past its expiry and another took it): it should stop at the next step.
 * With no run at all there is nothing shared to lock: `work` runs as `withoutRun` says (the queue is this
 * machine's, so a lock of this machine's does).
 */
export async function withRunLock<T>(
  options: RunLockOptions,
  work: (lost: AbortSignal) => Promise<T>,
): Promise<T> {
  const { store, owner, sleep } = options;
  const leaseMs = options.leaseMs ?? RETRY_LOCK_MS;
  const waitMs = options.waitMs ?? RETRY_LOCK_WAIT_MS;
  const take = () =>
    store.transact<Attempt>((current, now) => {
      if (!current) return { result: { kind: "no-run" } };
      const lease = acquire(current.sync.retryLock, owner, now, leaseMs);
      if (!lease) return { result: { kind: "busy", for: current.sync.retryLock!.expiresAt - now } };
      return { next: withLock(current, lease), result: { kind: "held" } };
    });

  let attempt = await take();
  if (attempt.kind === "busy") {
    const wakeup = new Wakeup(sleep);
    const stop = await store.subscribe(wakeup.notify);
    try {
      // Released while the subscription started (a database's LISTEN takes a connection): no notification
      // will come for it, and the wait would last the rest of the lease.
      attempt = await take();
      const started = performance.now(); // a local duration: only this process's waiting is measured
      while (attempt.kind === "busy") {
        const left = waitMs - (performance.now() - started);
        if (left <= 0) {
          throw new LockTimeoutError(
            `another queue retry of ${store.location} held its lock for over ${waitMs} ms: try again later`,
          );
        }
        await wakeup.wait(Math.min(attempt.for, left));
        attempt = await take();
      }
    } finally {
      await stop();
    }
  }
  if (attempt.kind === "no-run") {
    const unlocked = () => work(new AbortController().signal);
    return options.withoutRun ? options.withoutRun(unlocked) : unlocked();
  }

  const lost = new AbortController();
  const timer = setInterval(() => {
    renewHeld(store, "retryLock", owner, leaseMs).then(
      (held) => held || lost.abort(),
      () => undefined,
    );
  }, leaseMs / 3);
  timer.unref();
  try {
    return await work(lost.signal);
  } finally {
    clearInterval(timer);
    await releaseHeld(store, "retryLock", owner);
  }
}

function withLock(state: RunState, retryLock: Lease | null): RunState {
  return { ...state, sync: { ...state.sync, retryLock } };
}
