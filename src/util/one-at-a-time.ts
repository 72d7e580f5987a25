import { monotonicMs } from "./io.js";
import { sleep } from "./sleep.js";

/**
 * Runs `work` one at a time (a read of the run, for `serve` and `watch`): a call while it runs asks for
 * one more run right after it, so the last change is always read and a burst of calls costs two runs.
 * With `spacingMs`, runs start at least that far apart, so a burst of calls each made after the run
 * before it ended (a file store's reads end within the change notification that asked for them) is
 * gathered too: at most one run per `spacingMs`, the last call always followed by a run.
 */
export class OneAtATime {
  private running: Promise<void> | null = null;
  private again = false;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly spacingMs = 0,
  ) {}

  /** Whether a run is in progress (or waits for its turn). */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Runs the work now (or once the spacing allows), or once more after the run in progress; resolves when that run is done. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          const wait = this.lastStart + this.spacingMs - monotonicMs();
          if (wait > 0) await sleep(wait);
          // The calls made while it waited are this run's.
          this.again = false;
          this.lastStart = monotonicMs();
          await this.work();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
