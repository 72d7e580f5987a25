import type { Faults, ScriptedAnswer } from "./types.js";

export type FaultDecision =
  | { kind: "none" }
  | { kind: "drop" }
  | { kind: "script"; answer: ScriptedAnswer }
  | { kind: "failure"; status: 500 | 502 | 503 }
  | { kind: "down" };

const FAILURE_STATUSES = [500, 502, 503] as const;

function noFaults(): Faults {
  return {
    failureRate: 0,
    dropRate: 0,
    down: false,
    hang: false,
    latencyMs: 0,
    loseCreateResponses: 0,
    late: null,
    script: [],
  };
}

/** mulberry32: small, fast, deterministic for a given seed (the chaos test's schedules use it too). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The runtime fault settings, the seeded randomness behind them, and the requests held by `hang`. */
export class FaultInjector {
  #faults: Faults = noFaults();
  #random: () => number;
  readonly #seed: number;
  readonly #held = new Set<() => void>();
  /** Requests held by `late`: each resumes, then resolves its `applied` once the fake has processed it. */
  readonly #late: { resume: (apply: boolean) => void; applied: Promise<void> }[] = [];

  constructor(seed: number) {
    this.#seed = seed;
    this.#random = prng(seed);
  }

  get latencyMs(): number {
    return this.#faults.latencyMs;
  }

  set(faults: Partial<Faults>): void {
    const next: Faults = { ...this.#faults };
    if (faults.failureRate !== undefined) next.failureRate = rate(faults.failureRate, "failureRate");
    if (faults.dropRate !== undefined) next.dropRate = rate(faults.dropRate, "dropRate");
    if (faults.down !== undefined) next.down = faults.down;
    if (faults.hang !== undefined) next.hang = faults.hang;
    if (faults.latencyMs !== undefined) next.latencyMs = Math.max(0, faults.latencyMs);
    if (faults.loseCreateResponses !== undefined)
      next.loseCreateResponses = Math.max(0, faults.loseCreateResponses);
    if (faults.late !== undefined) next.late = faults.late && { ...faults.late };
    if (faults.script !== undefined) next.script = faults.script.map((answer) => ({ ...answer }));
    this.#faults = next;
    if (!next.hang) this.release();
  }

  /** No faults, a fresh PRNG from the seed, and held requests let go. */
  clear(): void {
    this.#faults = noFaults();
    this.#random = prng(this.#seed);
    this.release();
  }

  /** Resolves when `hang` is off: at once, or when it is cleared, or on `release()` (server closing). */
  waitWhileHanging(): Promise<void> {
    if (!this.#faults.hang) return Promise.resolve();
    return new Promise((resolve) => this.#held.add(resolve));
  }

  /** Whether the `late` fault holds this request. */
  holdsLate(method: string, path: string): boolean {
    const late = this.#faults.late;
    return late !== null && matches(late, method, path);
  }

  /** Holds a request until `applyLate()`; `done` is called by the handler once it has been processed. */
  holdLate(): { resumed: Promise<boolean>; done: () => void } {
    let resume = (_apply: boolean) => {};
    let done = () => {};
    const resumed = new Promise<boolean>((resolve) => {
      resume = resolve;
    });
    const applied = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.#late.push({ resume, applied });
    return { resumed, done };
  }

  get lateHeld(): number {
    return this.#late.length;
  }

  /**
   * Lets every request held by `late` go on (applied, or dropped unapplied: GitHub never got them);
   * resolves once each has been processed.
   */
  async endLate(apply = true): Promise<void> {
    const held = this.#late.splice(0);
    for (const { resume } of held) resume(apply);
    await Promise.all(held.map(({ applied }) => applied));
  }

  release(): void {
    const held = [...this.#held];
    this.#held.clear();
    for (const resume of held) resume();
  }

  decide(method: string, path: string): FaultDecision {
    const faults = this.#faults;
    if (faults.down) return { kind: "down" };
    const index = faults.script.findIndex((answer) => matches(answer, method, path));
    const answer = faults.script[index];
    if (answer) {
      const left = (answer.times ?? 1) - 1;
      if (left <= 0) faults.script.splice(index, 1);
      else answer.times = left;
      return { kind: "script", answer };
    }
    if (faults.dropRate > 0 && this.#random() < faults.dropRate) return { kind: "drop" };
    if (faults.failureRate > 0 && this.#random() < faults.failureRate) {
      const status = FAILURE_STATUSES[Math.floor(this.#random() * FAILURE_STATUSES.length)] ?? 500;
      return { kind: "failure", status };
    }
    return { kind: "none" };
  }

  /** True when this (already processed) comment creation must lose its response. */
  takeLostCreate(): boolean {
    if (this.#faults.loseCreateResponses <= 0) return false;
    this.#faults.loseCreateResponses -= 1;
    return true;
  }
}

function matches(answer: { method?: string; pathIncludes?: string }, method: string, path: string): boolean {
  if (answer.method !== undefined && answer.method.toUpperCase() !== method.toUpperCase()) return false;
  return answer.pathIncludes === undefined || path.includes(answer.pathIncludes);
}

function rate(value: number, name: string): number {
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`fake GitHub: ${name} must be within 0..1, got ${value}`);
  return value;
}
