import { type Agent as HttpAgent, Agent as HttpAgentClass, globalAgent as httpAgent } from "node:http";
import { Agent as HttpsAgent, globalAgent as httpsAgent } from "node:https";
import type { NetConnectOpts } from "node:net";
import minipassFetch from "minipass-fetch";
import { quote } from "../config/show-value.js";
import { describeProxy, NetworkError, timeoutError, toNetworkError } from "./network-error.js";
import { type ProxySettings, type ProxyVariable, proxyFor, unbracket } from "./proxy.js";
import { withoutCredentials } from "./redact.js";

/** What Octokit's request layer reads of an answer. */
export interface FetchResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly headers: Iterable<[string, string]> & { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** What Octokit's request layer sends. */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | null;
  signal?: AbortSignal | null;
}

/** The part of fetch Octokit's request layer calls. */
export type Fetch = (input: string | URL, init?: FetchInit) => Promise<FetchResponse>;

/** Redirects followed, as Node's fetch does; the last is answered as it came. */
const MAX_REDIRECTS = 20;

/**
 * The largest answer read. GitHub's largest is a page of 100 comments: a few MB, tens with the longest
 * bodies. Something else answering (a wrong API URL serving a file, a broken proxy) is cut off here
 * rather than read into memory until the timeout.
 */
const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

/**
 * Node's global agent for `url`'s scheme; for an IPv6 literal (`http://[::1]:8080`), one that connects to
 * the address without its brackets: minipass-fetch hands Node the URL's `hostname` as it is (`[::1]`),
 * which Node looks up as a host name (ENOTFOUND). Made once per scheme, when such a URL is first met.
 */
function directAgent(url: URL): HttpAgent {
  const https = url.protocol === "https:";
  if (!url.hostname.startsWith("[")) return https ? httpsAgent : httpAgent;
  const made = ipv6Agents.get(url.protocol);
  if (made) return made;
  const Base = https ? HttpsAgent : HttpAgentClass;
  const agent = new (class extends Base {
    override createConnection(
      options: NetConnectOpts & { host?: string; servername?: string },
      ...rest: never[]
    ) {
      // No TLS server name for an address (SNI takes host names only); the certificate is checked against it.
      const { servername: _name, ...connect } = options;
      const host = unbracket(String(options.host ?? ""));
      return super.createConnection({ ...connect, host }, ...rest);
    }
  })({ keepAlive: true });
  ipv6Agents.set(url.protocol, agent);
  return agent;
}

const ipv6Agents = new Map<string, HttpAgent>();

/**
 * The fetch given to Octokit for one attempt: minipass-fetch (npm's fetch on node:http and node:https),
 * not Node's own, whose first request costs a Node 20 process about 250 ms of CPU (undici compiles its
 * WebAssembly parser). Direct connections go through Node's global agents (keep-alive); a proxy's agent
 * is loaded only when a proxy is set. The whole exchange, body included, ends within `timeoutMs`: the
 * body is read before the promise resolves. Failures are NetworkErrors. Redirects are followed here, as
 * the fetch standard does: the token is not sent to another origin (minipass-fetch would keep it for the
 * same host name on another port or scheme).
 */
export function createFetch(
  proxy: ProxySettings | null,
  timeoutMs: number,
  maxAnswerBytes = MAX_ANSWER_BYTES,
): Fetch {
  // Whole and positive: AbortSignal.timeout throws a RangeError for a fraction of a millisecond.
  const wholeMs = Math.max(1, Math.ceil(timeoutMs));
  return async (input, init = {}) => {
    const timeout = AbortSignal.timeout(wholeMs);
    // Aborted when the answer is too large: the connection is closed, not read to its end.
    const cutOff = new AbortController();
    const signal = AbortSignal.any([timeout, cutOff.signal, ...(init.signal ? [init.signal] : [])]);
    let url = new URL(String(input));
    let { method = "GET", headers = {}, body = null } = init;
    let via: ProxyVariable | null = null;
    // False while a request through a proxy waits for its tunnel or handshake: nothing of it was sent.
    let connected = true;
    try {
      const proxies = proxy?.https || proxy?.http ? await import("./proxy-agent.js") : null;
      for (let redirects = 0; ; redirects++) {
        via = proxy === null ? null : proxyFor(url, proxy);
        connected = via === null || proxies === null;
        const agent =
          via === null || proxies === null
            ? directAgent(url)
            : proxies.proxyAgent(proxyUrl(via), url, wholeMs, () => {
                connected = true;
              });
        const response = await minipassFetch(url.href, {
          method,
          headers,
          body,
          signal,
          agent,
          redirect: "manual",
        });
        const content = await readAtMost(response, maxAnswerBytes, cutOff, via);
        const location = response.headers.get("location");
        if (!minipassFetch.isRedirect(response.status) || location === null || redirects === MAX_REDIRECTS) {
          const { status, statusText } = response;
          return new minipassFetch.Response(content, {
            url: url.href,
            status,
            statusText,
            headers: response.headers,
          });
        }
        const next = new URL(location, url);
        if (next.origin !== url.origin) {
          headers = Object.fromEntries(
            Object.entries(headers).filter(([name]) => !/^(authorization|cookie)$/i.test(name)),
          );
        }
        if (response.status === 303 || (response.status <= 302 && method === "POST")) {
          // Sent again as a GET without its body, and without the headers that described it (the standard's).
          method = "GET";
          body = null;
          headers = Object.fromEntries(
            Object.entries(headers).filter(
              ([name]) => !/^content-(type|encoding|language|location)$/i.test(name),
            ),
          );
        }
        url = next;
      }
    } catch (error) {
      if (timeout.aborted) throw timeoutError(wholeMs, via, connected);
      if (init.signal?.aborted) throw error;
      throw toNetworkError(error, via);
    }
  };
}

/**
 * The answer's body, or a NetworkError (the request cut off) once it is longer than `maxBytes`. Read here:
 * minipass-fetch's own `size` option wants the body's exact size (minipass-sized), not a limit.
 */
async function readAtMost(
  response: minipassFetch.Response,
  maxBytes: number,
  cutOff: AbortController,
  via: ProxyVariable | null,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = Number(response.headers.get("content-length") ?? 0);
  if (size <= maxBytes && response.body !== null) {
    size = 0;
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > maxBytes) break;
      chunks.push(chunk);
    }
  }
  if (size <= maxBytes) return Buffer.concat(chunks, size);
  // The abort is reported on the body too, which nothing reads any more.
  response.body?.on("error", () => undefined);
  cutOff.abort();
  const limit = `${Math.round((maxBytes / 1024 / 1024) * 10) / 10} MiB`;
  throw new NetworkError(new Error(`the answer is larger than ${limit}`), {
    code: "ERR_ANSWER_TOO_LARGE",
    requestSent: true,
    timedOut: false,
    proxy: describeProxy(via),
  });
}

/**
 * The proxy's URL; `host:port` means http://host:port as in curl. A value that is not one fails the
 * request (GitHub trouble: queued, explained), its password never shown.
 */
export function proxyUrl(variable: ProxyVariable): string {
  const value = variable.value.includes("://") ? variable.value : `http://${variable.value}`;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (
    url === null ||
    !["http:", "https:", "socks:", "socks5:", "socks5h:"].includes(url.protocol) ||
    url.hostname === ""
  ) {
    // Up to the last `@`: a password may hold `/`, `?` or `#` (and so break the URL).
    const shown = quote(withoutCredentials(value));
    throw new NetworkError(new Error(`${variable.name} is not a proxy URL: ${shown}`), {
      code: "ERR_PROXY_URL",
      requestSent: false,
      timedOut: false,
      proxy: describeProxy(variable),
    });
  }
  return url.href;
}
