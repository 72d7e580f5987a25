/** GitHub's primary (core, per hour) and secondary (write pace) rate limits, per token user. */

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const ANONYMOUS_LIMIT = 60;

export interface LimitConfig {
  coreLimit: number;
  writesPerMinute: number;
  writesPerHour: number;
  minWriteIntervalMs: number;
}

interface CoreWindow {
  start: number;
  used: number;
}

export type RateHeaders = Record<string, string>;

export class RateLimits {
  readonly #config: LimitConfig;
  readonly #clock: () => number;
  readonly #core = new Map<string, CoreWindow>();
  readonly #writes = new Map<string, number[]>();

  constructor(config: LimitConfig, clock: () => number) {
    this.#config = config;
    this.#clock = clock;
  }

  reset(): void {
    this.#core.clear();
    this.#writes.clear();
  }

  /** Counts one core request; false when the hour's quota was already spent (the request is refused). */
  consumeCore(login: string | null): boolean {
    const window = this.#window(login);
    if (window.used >= this.#limit(login)) return false;
    window.used += 1;
    return true;
  }

  /** The `x-ratelimit-*` headers every answer carries. */
  headers(login: string | null): RateHeaders {
    const window = this.#window(login);
    const limit = this.#limit(login);
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, limit - window.used)),
      "x-ratelimit-used": String(window.used),
      "x-ratelimit-reset": String(Math.ceil((window.start + HOUR_MS) / 1000)),
      "x-ratelimit-resource": "core",
    };
  }

  /** Whether a write of `login` now would pass the secondary limits. */
  admitsWrite(login: string): boolean {
    const now = this.#clock();
    const times = this.#recentWrites(login, now);
    const last = times[times.length - 1];
    if (last !== undefined && now - last < this.#config.minWriteIntervalMs) return false;
    if (times.length >= this.#config.writesPerHour) return false;
    let inMinute = 0;
    for (let i = times.length - 1; i >= 0 && now - (times[i] ?? 0) < MINUTE_MS; i -= 1) inMinute += 1;
    return inMinute < this.#config.writesPerMinute;
  }

  recordWrite(login: string, at: number): void {
    this.#recentWrites(login, at).push(at);
  }

  #limit(login: string | null): number {
    return login === null ? ANONYMOUS_LIMIT : this.#config.coreLimit;
  }

  #window(login: string | null): CoreWindow {
    const key = login ?? "";
    const now = this.#clock();
    let window = this.#core.get(key);
    if (!window || now >= window.start + HOUR_MS) {
      window = { start: now, used: 0 };
      this.#core.set(key, window);
    }
    return window;
  }

  /** Accepted writes of the last hour, oldest first; older ones are dropped so the list stays bounded. */
  #recentWrites(login: string, now: number): number[] {
    let times = this.#writes.get(login);
    if (!times) {
      times = [];
      this.#writes.set(login, times);
    }
    let expired = 0;
    while (expired < times.length && now - (times[expired] ?? 0) >= HOUR_MS) expired += 1;
    if (expired > 0) times.splice(0, expired);
    return times;
  }
}
