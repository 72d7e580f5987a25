import { type Env, environmentTokens } from "../config/resolve.js";
import { maskSecrets } from "../github/redact.js";

/**
 * Agents' text with the environment's tokens (and anything shaped like a GitHub token) masked: an error
 * message or log line may quote one (an environment dump, a failed request), and the text is kept in
 * the run state and posted on the issue.
 */
export function maskAgentText<T extends string | null | undefined>(text: T, env: Env): T {
  return (typeof text === "string" ? maskSecrets(text, environmentTokens(env)) : text) as T;
}
