import { monotonicMs } from "./io.js";

/** A caller waiting for its turn. */
interface Waiter {
  resolve: () => void;
  /** Gives up now if its patience ran out; true when it did. */
  expired: () => boolean;
  timer: NodeJS.Timeout;
}

/**
 * At most `size` holders at a time; the others wait their turn, first come first served, for as long as
 * the holders make progress: a waiter gives up (rejects with `giveUp()`) once `patienceMs` pass with no
 * turn ended well since it began to wait. So a burst bigger than the slots waits while the work goes on
 * (a pool's own queue gives up after its connect timeout however busy it is: see PgRunStore), and fails
 * soon when nothing gets through (a database that does not answer), rather than one turn after another.
 */
export class Slots {
  private free: number;
  private readonly waiting: Waiter[] = [];
  /** When a turn last ended well (monotonicMs(): a local duration). */
  private progressAt = Number.NEGATIVE_INFINITY;

  constructor(
    size: number,
    private readonly patienceMs: number,
    private readonly giveUp: () => Error,
  ) {
    this.free = size;
  }

  /** Resolves once a slot is the caller's, to the function that gives it back (once), saying how it went. */
  async take(): Promise<(wentWell: boolean) => void> {
    if (this.free > 0) this.free--;
    else await this.wait();
    let held = true;
    return (wentWell) => {
      if (!held) return;
      held = false;
      if (wentWell) this.progressAt = monotonicMs();
      // A turn that ended badly hands the slot only to a waiter whose patience has not run out meanwhile.
      for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
        clearTimeout(next.timer);
        if (next.expired()) continue;
        next.resolve();
        return;
      }
      this.free++;
    };
  }

  private wait(): Promise<void> {
    const since = monotonicMs();
    return new Promise<void>((resolve, reject) => {
      const idle = () => monotonicMs() - Math.max(since, this.progressAt);
      const expired = () => {
        if (idle() < this.patienceMs) return false;
        reject(this.giveUp());
        return true;
      };
      const check = () => {
        if (!expired()) {
          waiter.timer = setTimeout(check, this.patienceMs - idle()).unref();
          return;
        }
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
      };
      const waiter: Waiter = { resolve, expired, timer: setTimeout(check, this.patienceMs).unref() };
      this.waiting.push(waiter);
    });
  }
}
