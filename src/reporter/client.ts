import { hasEscapes, originAlone, sameApi } from "../config/api-url.js";
import { webHost } from "../config/origin-host.js";
import {
  DEFAULT_API_URL,
  type Env,
  ghAuthToken,
  resolveApiUrl,
  resolveToken,
  tokenProblem,
} from "../config/resolve.js";
import { GitHubError } from "../errors.js";
import { answerWithin, guardClient, withoutSecrets } from "../github/guarded-client.js";
import { holdsSecret, redactSecrets } from "../github/redact.js";
import type { CallOptions, IssueCommentsClient } from "../github/types.js";
import type { Clock } from "../util/io.js";
import { sleep } from "../util/sleep.js";
import type { ReporterOptions } from "./types.js";

/**
 * A reporter's GitHub client by API URL; GitHub trouble ("auth") when there is no token, or when the
 * run's API is not the configured one (`elsewhere`: the reporter's runApiElsewhere). A client
 * given in the options is held to the interface's promises (guardClient): its trouble is GitHub trouble,
 * its messages with `secrets()` (the environment's tokens, the store's) and anything shaped like a token
 * masked. The default clients are made once per API URL, for the reporter's life.
 */
export function reporterClient(
  options: ReporterOptions,
  env: Env,
  clock: Clock,
  secrets: () => readonly string[],
  elsewhere: (apiUrl: string) => string | null = (apiUrl) =>
    runApiElsewhere(options, env, apiUrl, false, secrets),
  /** The token gh gives for an API's host (default: asked of gh each time). */
  ghToken: (apiUrl: string) => Promise<string | null> = (apiUrl) =>
    ghAuthToken({ hostname: webHost(apiUrl), env }),
): (apiUrl: string, call?: CallOptions) => Promise<IssueCommentsClient> {
  const clients = new Map<string, Promise<IssueCommentsClient | null>>();
  const given = options.client;
  const fromFactory = typeof given === "function" ? factoryClients(given, secrets) : null;
  return async (apiUrl, call) => {
    let client: IssueCommentsClient | null;
    const why = elsewhere(apiUrl);
    if (why) throw new GitHubError(why, { kind: "auth", local: true });
    if (given && typeof given !== "function") client = guardClient(given, secrets);
    else if (fromFactory) client = await fromFactory(apiUrl, call?.timeoutMs);
    else {
      let made = clients.get(apiUrl);
      if (!made) {
        made = defaultClient(env, apiUrl, clock, options.sleep ?? sleep, ghToken);
        clients.set(apiUrl, made);
      }
      client = await made;
    }
    if (client) return client;
    throw new GitHubError("no GitHub token: set GITHUB_TOKEN or GH_TOKEN (or log in with `gh auth login`)", {
      kind: "auth",
      local: true,
    });
  };
}

/**
 * With the file store, the environment's token goes only to the API this call is configured with (the
 * option, else GITHUB_API_URL, else api.github.com), not to one the run's state names: the state is a
 * file in the epic folder that whoever can write there (a checkout, a shared folder) could point at any
 * host, as a queue file. Says why a write of the run at `apiUrl` is not made (GitHub trouble, auth: warned
 * of, the post queued, until the call is configured for the run's API), or null. A database store's run
 * (`runApiShared`) keeps the API given at init for a call that configured none of its own (no option, no
 * GITHUB_API_URL); a call that did sends its token only there, as with the file store: any role granted
 * the run's repository can set its stored API with plain SQL. A client object given has no URL to send to.
 */
export function runApiElsewhere(
  options: ReporterOptions,
  env: Env,
  apiUrl: string,
  runApiShared: boolean,
  secrets: () => readonly string[],
): string | null {
  if (typeof options.client === "object") return null;
  const configuredHere = options.github?.apiUrl !== undefined || Boolean(env.GITHUB_API_URL?.trim());
  if (runApiShared && !configuredHere) return null;
  const configured = resolveApiUrl(options.github?.apiUrl, env);
  if (sameApi(apiUrl, configured)) return null;
  return `the run posts to ${apiUrl}, but this call's GitHub API is ${shownApiUrl(configured, secrets())} (--api-url, else GITHUB_API_URL, else ${DEFAULT_API_URL}): the token is not sent to another; set GITHUB_API_URL (or give --api-url) to the run's`;
}

/**
 * The call's API URL as a message shows it: it may hold a token the checks could not know (one only gh
 * gives, asked since), as written (masked) or percent-encoded in any way (then only its origin is shown).
 */
function shownApiUrl(url: string, secrets: readonly string[]): string {
  if (!holdsSecret(url, secrets) && !hasEscapes(url)) return redactSecrets(url, secrets);
  return originAlone(url, (origin) => holdsSecret(origin, secrets));
}

/**
 * The clients the factory given in the options makes, guarded; its failure is GitHub trouble too. It is
 * called for each client a write needs (a token it hands out may have expired since), but never twice at
 * once for one API URL: a write that needs a client while the factory is still making one waits for that
 * one. Each waits only until its `timeoutMs` (what is left of its deadline): a factory that has not
 * answered by then is given up on as a timeout, and the next write calls it again, so a factory that
 * never settles is called once per write deadline at most, rather than once per call.
 */
function factoryClients(
  factory: (apiUrl: string) => IssueCommentsClient | null | Promise<IssueCommentsClient | null>,
  secrets: () => readonly string[],
): (apiUrl: string, timeoutMs: number | undefined) => Promise<IssueCommentsClient | null> {
  const making = new Map<string, Promise<IssueCommentsClient | null>>();
  return async (apiUrl, timeoutMs) => {
    let made = making.get(apiUrl);
    if (!made) {
      // A synchronous throw becomes a rejection.
      made = Promise.resolve().then(() => factory(apiUrl));
      making.set(apiUrl, made);
    }
    const mine = made;
    const forget = () => {
      if (making.get(apiUrl) === mine) making.delete(apiUrl);
    };
    try {
      const client = await answerWithin(
        mine,
        timeoutMs,
        (seconds) =>
          new GitHubError(`the GitHub client factory did not answer within ${seconds}s`, { kind: "timeout" }),
      );
      return client ? guardClient(client, secrets) : null;
    } catch (error) {
      if (error instanceof GitHubError) throw withoutSecrets(error, secrets());
      const message = error instanceof Error ? error.message : String(error);
      // No `cause`: the thrown value may hold a secret, and a logged error shows its cause.
      throw new GitHubError(`the GitHub client could not be made: ${redactSecrets(message, secrets())}`, {
        kind: "network",
      });
    } finally {
      forget();
    }
  };
}

async function defaultClient(
  env: Env,
  apiUrl: string,
  clock: Clock,
  sleepFor: (ms: number) => Promise<void>,
  ghToken: (apiUrl: string) => Promise<string | null>,
): Promise<IssueCommentsClient | null> {
  // `gh auth token` for the API's host: GitHub Enterprise serves its API on the same host (…/api/v3).
  // Always named: not told, gh answers for its default host (GH_HOST, or the only host it is logged in
  // to), and a GitHub Enterprise Server's token would be sent to api.github.com.
  const token = await resolveToken(env, () => ghToken(apiUrl));
  if (!token) return null;
  // Refused before any request: sent, it fails as a network error and is retried as one.
  const problem = tokenProblem(token.token);
  if (problem) {
    const from = token.source === "gh auth token" ? "the token from `gh auth token`" : token.source;
    throw new GitHubError(
      `${from} holds characters a token cannot (${problem}): set it to the token alone, as GitHub issued it`,
      { kind: "auth", local: true },
    );
  }
  const { createOctokitClient, readProxySettings } = await import("../sync/client-and-renderer.js");
  // The reporter's clock and sleep: GitHub's "retry after" times are read on the run's clock (and tests
  // that inject them control the client's waits too).
  return createOctokitClient({
    token: token.token,
    apiUrl,
    proxy: readProxySettings(env),
    clock,
    sleep: sleepFor,
  });
}
