import { type Env, environmentTokens } from "../config/resolve.js";
import { maskSecrets } from "../github/redact.js";

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
