import { GitHubError } from "../errors.js";
import type { Clock } from "../util/io.js";

/** When a process's last request to GitHub ended (epoch ms, its timer: SyncDeps.timer). */
export interface RequestTimes {
  lastEndedAt: number;
}

interface PacerOptions {
  clock: Clock;
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
  /**
   * When this process's last request ended, shared by its Pacers (a write's, the queue retry's): each
   * write waits the interval from it. The run's lastWriteAt cannot say so when the store failed to record
   * a write, nor when another Pacer of the process wrote meanwhile (a retry's queued posts, then the run's).
   */
  requests: RequestTimes;
  /** Runs before each request, after the wait: the write lease is renewed (or found lost) here. */
  before?: () => Promise<void>;
  /** Epoch ms: a write that would start later is not waited for (the command's deadline). */
  deadline?: number;
}

/**
 * Spaces the writes one process makes in a row (a lease may need several: delete a duplicate, then
 * update). The gap is counted from the END of the previous write: GitHub sees a write somewhere between
 * sending and answering, so counting from the start could bring two writes closer than the interval.
 */
export class Pacer {
  constructor(private readonly options: PacerOptions) {}

  async write<T>(request: () => Promise<T>): Promise<T> {
    const { clock, intervalMs, sleep, requests, before, deadline = Number.POSITIVE_INFINITY } = this.options;
    const wait = requests.lastEndedAt + intervalMs - clock.now();
    if (wait > 0 && clock.now() + wait >= deadline) {
      throw new GitHubError("the command's time for GitHub ran out before its next write was due", {
        kind: "timeout",
      });
    }
    if (wait > 0) await sleep(wait);
    await before?.();
    try {
      return await request();
    } finally {
      requests.lastEndedAt = clock.now();
    }
  }
}
