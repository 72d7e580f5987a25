import { MAX_RATE_LIMIT_WAIT_MS } from "../github/rate-limit.js";
import type { RunState } from "../model/types.js";
import type { Transition } from "./types.js";

/**
 * `state` with its waits (`sync.rateLimitedUntil`, `sync.backoffUntil`) held to an hour from `now`, the
 * store's clock: the longest wait a GitHub answer is taken at (rate-limit.ts). One further away was
 * written by a build before that cap, an older client on a shared database or a hand: it would stop the
 * run's writes, `finalize` and `retry` included, for as long (and one past what a date holds crashed
 * them). The same object when nothing is held.
 */
export function withWaitsHeld(state: RunState, now: number): RunState {
  // A database's run is not checked by the schema: a field (or all of sync) absent, as a version before it
  // or SQL left it, stays absent.
  if (!state.sync) return state;
  const latest = now + MAX_RATE_LIMIT_WAIT_MS;
  const held = (until: number) => (until > latest ? latest : until);
  const { rateLimitedUntil, backoffUntil } = state.sync;
  if (held(rateLimitedUntil) === rateLimitedUntil && held(backoffUntil) === backoffUntil) return state;
  return {
    ...state,
    sync: { ...state.sync, rateLimitedUntil: held(rateLimitedUntil), backoffUntil: held(backoffUntil) },
  };
}

/**
 * `change` as a store runs it: on the state it read with its waits held (withWaitsHeld). A state whose
 * waits were held is written so even when the change writes nothing: the hour counts from the first
 * change that held it (held again at every read, a wait further away would move on with the clock).
 */
export function onWaitsHeld<T>(
  change: (current: RunState | null, now: number) => Transition<T>,
): (current: RunState | null, now: number) => Transition<T> {
  return (current, now) => {
    const held = current && withWaitsHeld(current, now);
    const transition = change(held, now);
    if (transition.next !== undefined || held === null || held === current) return transition;
    return { ...transition, next: held };
  };
}
