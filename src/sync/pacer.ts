import type { Clock } from "../util/io.js";

/**
 * Spaces the writes one process makes in a row (a lease may need several: delete a duplicate, then
 * update). The gap is counted from the END of the previous write: GitHub sees a write somewhere between
 * sending and answering, so counting from the start could bring two writes closer than the interval.
 */
export class Pacer {
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
    lastWriteAt = 0,
    /** Runs before each request, after the wait: the write lease is renewed (or found lost) here. */
    private readonly before: () => Promise<void> = async () => undefined,
  ) {
    this.last = lastWriteAt;
  }

  async write<T>(request: () => Promise<T>): Promise<T> {
    const wait = this.last + this.intervalMs - this.clock.now();
    if (wait > 0) await this.sleep(wait);
    await this.before();
    try {
      return await request();
    } finally {
      this.last = this.clock.now();
    }
  }
}
