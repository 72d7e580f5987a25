import { GitHubError } from "../errors.js";
import type { Clock } from "../util/io.js";

/** When a process's last request to GitHub ended (epoch ms, its own clock). */
export interface RequestTimes {
  lastEndedAt: number;
}

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
    /** Epoch ms: a write that would start later is not waited for (the command's deadline). */
    private readonly deadline = Number.POSITIVE_INFINITY,
    /**
     * When this process's last request ended, kept across its writes (this clock): its next write waits
     * the interval from it too. The run's lastWriteAt cannot say so when the store failed to record it,
     * nor when another Pacer of the process wrote meanwhile (a retry's queued posts, then the run's).
     */
    private readonly requests: RequestTimes = { lastEndedAt: Number.NEGATIVE_INFINITY },
  ) {
    this.last = lastWriteAt;
  }

  async write<T>(request: () => Promise<T>): Promise<T> {
    const last = Math.max(this.last, this.requests.lastEndedAt);
    const wait = last + this.intervalMs - this.clock.now();
    if (wait > 0 && this.clock.now() + wait >= this.deadline) {
      throw new GitHubError("the command's time for GitHub ran out before its next write was due", {
        kind: "timeout",
      });
    }
    if (wait > 0) await this.sleep(wait);
    await this.before();
    try {
      return await request();
    } finally {
      this.last = this.clock.now();
      this.requests.lastEndedAt = this.last;
    }
  }
}
