import { ProxyAgent, fetch as undiciFetch } from "undici";
import type { Fetch } from "./fetch.js";

/**
 * undici's fetch through a proxy, loaded only when a proxy applies (importing undici costs a CLI call
 * about 60 ms). https goes through a CONNECT tunnel, so the proxy never sees the request or the token;
 * http is sent to the proxy as an absolute URL, as curl and gh do. One agent per proxy for the process.
 */
const agents = new Map<string, ProxyAgent>();

export function proxiedFetch(proxyUrl: string): Fetch {
  let agent = agents.get(proxyUrl);
  if (agent === undefined) {
    agent = new ProxyAgent({ uri: proxyUrl, proxyTunnel: false });
    agents.set(proxyUrl, agent);
  }
  const dispatcher = agent;
  return (input, init) =>
    undiciFetch(input, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    }) as unknown as Promise<Response>;
}
