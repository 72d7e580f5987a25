/**
 * Runs `work` one at a time (a read of the run, for `serve` and `watch`): a call while it runs asks for
 * one more run right after it, so the last change is always read and a burst of calls costs two runs.
 */
export class OneAtATime {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly work: () => Promise<void>) {}

  /** Whether a run is in progress. */
  get busy(): boolean {
    return this.running !== null;
  }

  /** Runs the work now, or once more after the run in progress; resolves when that run is done. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.work();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Resolves once no run is in progress. */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }
}
