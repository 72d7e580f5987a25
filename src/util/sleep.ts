/**
 * Resolves after `ms` milliseconds (a timer that keeps the process alive meanwhile), or at once when
 * `signal` aborts (the timer is cleared, so an early wake-up leaves nothing keeping the process alive).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The longest wait of askAgainMs. */
export const MAX_ASK_AGAIN_MS = 15_000;

/**
 * How long to wait before asking a database that stopped answering again, after `failures` failed asks:
 * 0.5 s, doubled each time, 15 s at most. The one rule of the background writer and of the waiter for
 * the changes kept on a machine.
 */
export const askAgainMs = (failures: number): number =>
  Math.min(MAX_ASK_AGAIN_MS, 500 * 2 ** Math.min(failures, 5));
