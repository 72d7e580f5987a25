import { describeProxy, NetworkError, timeoutError, toNetworkError } from "./network-error.js";
import { type ProxySettings, type ProxyVariable, proxyFor } from "./proxy.js";

/** The part of fetch Octokit's request layer calls. */
export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** Statuses whose response has no body (a Response cannot be built with one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * The fetch given to Octokit for one attempt. Node's own fetch for a direct connection; undici's, with a
 * ProxyAgent, only when a proxy applies (Node 20's fetch ignores HTTPS_PROXY, and importing undici would
 * cost every call about twice what Node's fetch costs on first use). The whole exchange, body included,
 * must end within `timeoutMs`: the body is read before the promise resolves. Failures are NetworkErrors.
 */
export function createFetch(proxy: ProxySettings | null, timeoutMs: number): Fetch {
  return async (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const url = new URL(String(input));
    let via: ProxyVariable | null = null;
    try {
      via = proxy === null ? null : proxyFor(url, proxy);
      const send = via === null ? fetch : (await import("./proxy-agent.js")).proxiedFetch(proxyUrl(via));
      const response = await send(url, { ...init, signal });
      if (response.status < 200 || response.status > 599) return response;
      const body = NULL_BODY.has(response.status) ? null : await response.arrayBuffer();
      const { status, statusText, headers } = response;
      return new Response(body, { status, statusText, headers });
    } catch (error) {
      if (timeout.aborted) throw timeoutError(timeoutMs, via);
      if (init.signal?.aborted) throw error;
      throw toNetworkError(error, via);
    }
  };
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
    !["http:", "https:", "socks:", "socks5:"].includes(url.protocol) ||
    url.hostname === ""
  ) {
    const shown = value.replace(/\/\/[^/@]*@/, "//***@");
    throw new NetworkError(new Error(`${variable.name} is not a proxy URL: "${shown}"`), {
      code: "ERR_PROXY_URL",
      requestSent: false,
      timedOut: false,
      proxy: describeProxy(variable),
    });
  }
  return url.href;
}
