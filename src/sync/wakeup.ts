/**
 * Wakes a waiting loop early when the store reports a change: a wait lasts until its due time or the
 * next notification, whichever comes first. A notification that arrives between two waits is kept, so
 * the next wait returns at once (nothing is missed while the loop was busy).
 */
export class Wakeup {
  private pending = false;
  private waiting: AbortController | null = null;

  constructor(private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>) {}

  /** Called by the store's subscription. */
  readonly notify = (): void => {
    this.pending = true;
    this.waiting?.abort();
  };

  /** Waits up to `ms`; true when woken by a notification. */
  async wait(ms: number): Promise<boolean> {
    if (!this.pending) {
      const controller = new AbortController();
      this.waiting = controller;
      await this.sleep(Math.max(0, ms), controller.signal);
      this.waiting = null;
    }
    const woken = this.pending;
    this.pending = false;
    return woken;
  }
}
