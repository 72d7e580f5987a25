import { type Env, environmentTokens } from "../config/resolve.js";
import { MIN_ANYWHERE, maskSecrets } from "../github/redact.js";
import type { RunState } from "../model/types.js";

/**
 * Agents' text with the environment's tokens, the store's own secrets (`storeSecrets`: a database URL's
 * password given to the library) and anything shaped like a GitHub token masked: an error message or log
 * line may quote one (an environment dump, a failed request), and the text is kept in the run state and
 * posted on the issue.
 */
export function maskAgentText<T extends string | null | undefined>(
  text: T,
  env: Env,
  storeSecrets: readonly string[] = [],
): T {
  if (typeof text !== "string") return text;
  return maskSecrets(text, [...environmentTokens(env), ...storeSecrets]) as T;
}

/**
 * `state` with each of `tokens` (of MIN_ANYWHERE characters or more) replaced by `***` wherever its text
 * holds one, through its JSON: a token's escaped form matches inside strings only, never JSON's syntax.
 */
export function stateWithout(state: RunState, tokens: readonly string[]): RunState {
  const long = tokens.filter((token) => token.length >= MIN_ANYWHERE);
  if (long.length === 0) return state;
  const text = JSON.stringify(state);
  let masked = text;
  for (const token of long) masked = masked.split(JSON.stringify(token).slice(1, -1)).join("***");
  return masked === text ? state : (JSON.parse(masked) as RunState);
}
