import type { Agent, ClientRequest } from "node:http";
import { checkServerIdentity } from "node:tls";
import { HttpProxyAgent } from "http-proxy-agent";
import { HttpsProxyAgent } from "https-proxy-agent";
import { SocksProxyAgent } from "socks-proxy-agent";

/**
 * The agent that takes a request to `target` through a proxy, loaded only when a proxy is set. An https
 * API goes through a CONNECT tunnel, so the proxy never sees the request or the token; an http API is
 * sent to the proxy as an absolute URL, as curl and gh do; a SOCKS5 proxy (socks5://, or socks5h:// and
 * socks:// where the proxy resolves the name) carries both. One agent per proxy and scheme for the
 * process, keeping its connections alive as Node's global agents do.
 */
const agents = new Map<string, Agent>();

export function proxyAgent(proxyUrl: string, target: URL): Agent {
  const socks = proxyUrl.startsWith("socks");
  const key = `${socks ? "" : target.protocol} ${proxyUrl}`;
  let agent = agents.get(key);
  if (agent === undefined) {
    const options = { keepAlive: true };
    agent = socks
      ? new SocksProxyAgent(proxyUrl, options)
      : target.protocol === "https:"
        ? new TunnelAgent(proxyUrl, options)
        : new HttpProxyAgent(proxyUrl, options);
    agents.set(key, agent);
  }
  return agent;
}

/**
 * https-proxy-agent with two mends. A proxy's refusal of the tunnel (403, 407...) fails the connection,
 * as sent nowhere (ERR_PROXY_TUNNEL), rather than reaching the request as if GitHub had answered it. The
 * certificate is checked against the API's host even when it is an IP address (https-proxy-agent then
 * sets no TLS server name, and Node would check it against "localhost").
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  override async connect(req: ClientRequest, options: Parameters<HttpsProxyAgent<string>["connect"]>[1]) {
    let status = 200;
    req.once("proxyConnect", (answer: { statusCode: number }) => {
      status = answer.statusCode;
    });
    const host = options.host ?? "";
    const socket = await super.connect(
      req,
      options.secureEndpoint
        ? { ...options, checkServerIdentity: (_name, certificate) => checkServerIdentity(host, certificate) }
        : options,
    );
    if (status === 200) return socket;
    socket.destroy();
    throw Object.assign(new Error(`the proxy refused the tunnel (${status})`), { code: "ERR_PROXY_TUNNEL" });
  }
}
