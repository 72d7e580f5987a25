/**
 * At most `size` holders at a time; the others wait their turn, first come first served, however long it
 * takes (the turns ahead are bounded by their own timeouts). See PgRunStore: a pool's own queue gives up
 * after its connect timeout, which a busy pool is not.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Resolves once a slot is the caller's, to the function that gives it back (once). */
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
