import type { Agent, ClientRequest } from "node:http";
import { checkServerIdentity } from "node:tls";
import { HttpProxyAgent } from "http-proxy-agent";
import { HttpsProxyAgent } from "https-proxy-agent";
import { SocksProxyAgent } from "socks-proxy-agent";
import { codeOf, sentNothing } from "./network-error.js";

/**
 * The agent that takes a request to `target` through a proxy, loaded only when a proxy is set. An https
 * API goes through a CONNECT tunnel, so the proxy never sees the request or the token; an http API is
 * sent to the proxy as an absolute URL, as curl and gh do; a SOCKS5 proxy (socks5://, or socks5h:// and
 * socks:// where the proxy resolves the name) carries both. One agent per proxy and scheme for the
 * process, keeping its connections alive as Node's global agents do; a SOCKS5 one per request instead
 * (`timeoutMs`, the request's own limit, bounds its handshake: see below). `onConnection` is called once
 * the request has its connection (see watched): nothing of it is written before.
 */
const agents = new Map<string, Agent>();

export function proxyAgent(
  proxyUrl: string,
  target: URL,
  timeoutMs: number,
  onConnection: () => void,
): Agent {
  // socks-proxy-agent cannot close a handshake the proxy never answers when the request is given up:
  // only its own timeout ends it (30 s by default), which holds the process open as long. Made for
  // the request, the agent gets the request's limit.
  if (proxyUrl.startsWith("socks")) {
    return watched(new SocksAgent(proxyUrl, { timeout: timeoutMs }), onConnection);
  }
  const key = `${target.protocol} ${proxyUrl}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    const options = { keepAlive: true };
    agent =
      target.protocol === "https:"
        ? new TunnelAgent(proxyUrl, options)
        : new HttpProxyAgent(proxyUrl, options);
    agents.set(key, agent);
  }
  return watched(agent, onConnection);
}

/** Node's Agent with the method every request goes through, which @types/node leaves out. */
type PoolingAgent = Agent & { addRequest(req: ClientRequest, options: object): void };

/**
 * `agent` for one request, calling `onConnection` when the request gets its connection: these agents
 * (agent-base) hand it over only once the CONNECT tunnel is open, the SOCKS handshake done, or the
 * connection to an http:// proxy made (a kept-alive one at once). A request given up before was sent
 * nowhere. Everything else, the pool of kept-alive connections included, is `agent`'s.
 */
function watched(agent: Agent, onConnection: () => void): Agent {
  const shared = agent as PoolingAgent;
  const one: PoolingAgent = Object.create(shared);
  one.addRequest = (req, options) => {
    req.once("socket", onConnection);
    shared.addRequest(req, options);
  };
  return one;
}

/**
 * https-proxy-agent with three mends. A proxy's refusal of the tunnel (403, 407...) fails the connection,
 * as sent nowhere (ERR_PROXY_TUNNEL), rather than reaching the request as if GitHub had answered it. The
 * certificate is checked against the API's host even when it is an IP address (https-proxy-agent then
 * sets no TLS server name, and Node would check it against "localhost"). The connection to the proxy is
 * closed when the request is given up before the proxy answered the CONNECT: https-proxy-agent would
 * keep waiting, and the open connection would keep the process alive until the proxy hangs up.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  override async connect(req: ClientRequest, options: Parameters<HttpsProxyAgent<string>["connect"]>[1]) {
    let status = 200;
    req.once("proxyConnect", (answer: { statusCode: number }) => {
      status = answer.statusCode;
    });
    const host = options.host ?? "";
    const abandoned = new AbortController();
    const abandon = () => abandoned.abort();
    // A request aborted before it has a socket (a timeout, while the CONNECT is pending) emits "abort"
    // only; "close" comes with a socket.
    req.once("abort", abandon).once("close", abandon);
    // https-proxy-agent opens the connection to the proxy with `connectOpts` before its first await: for
    // that moment they carry this request's signal (the agent is shared, the signal is not).
    const shared = this.connectOpts;
    this.connectOpts = { ...shared, signal: abandoned.signal };
    let connecting: ReturnType<HttpsProxyAgent<string>["connect"]>;
    try {
      connecting = super.connect(
        req,
        options.secureEndpoint
          ? {
              ...options,
              checkServerIdentity: (_name, certificate) => checkServerIdentity(host, certificate),
            }
          : options,
      );
    } finally {
      this.connectOpts = shared;
    }
    const socket = await connecting.finally(() => req.off("abort", abandon).off("close", abandon));
    if (status === 200) return socket;
    socket.destroy();
    throw Object.assign(new Error(`the proxy refused the tunnel (${status})`), { code: "ERR_PROXY_TUNNEL" });
  }
}

/**
 * socks-proxy-agent with its failures coded. Its connect ends once the proxy has opened the connection to
 * the API, before a byte of the request is written: a failure of it sent nothing. The socks library
 * reports one with no code, the system error's message alone (`connect ECONNREFUSED 127.0.0.1:1080`),
 * which read as a connection lost after sending (ERR_FETCH_SYSTEM), never retried. It gets the code
 * of a failure before sending that it carries or names (ECONNREFUSED: retried and explained as through an
 * http:// proxy), else ERR_PROXY_SOCKS (the proxy refused the greeting or the connection, hung up...:
 * sent nowhere, and not tried again, as ERR_PROXY_TUNNEL).
 */
class SocksAgent extends SocksProxyAgent {
  override async connect(req: ClientRequest, options: Parameters<SocksProxyAgent["connect"]>[1]) {
    try {
      return await super.connect(req, options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const named = [codeOf(error), /\b(E[A-Z]+)\b/.exec(message)?.[1]];
      const code = named.find((candidate) => candidate !== undefined && sentNothing(candidate));
      throw Object.assign(new Error(message, { cause: error }), { code: code ?? "ERR_PROXY_SOCKS" });
    }
  }
}
