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
