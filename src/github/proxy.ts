import { BlockList, isIP } from "node:net";

/**
 * Which proxy a request goes through, from HTTPS_PROXY, HTTP_PROXY and NO_PROXY as curl and gh read them
 * (pure; the README's "Proxies" section states the rule). Written here rather than taken from a package:
 * proxy-from-env (and undici's EnvHttpProxyAgent) read process.env themselves and know neither CIDR
 * ranges nor IPv6 brackets.
 */

/** One proxy variable as found: its name (for messages) and value. */
export interface ProxyVariable {
  name: string;
  value: string;
}

export interface ProxySettings {
  /** For https:// URLs: https_proxy, else HTTPS_PROXY. */
  https: ProxyVariable | null;
  /** For http:// URLs: http_proxy, else HTTP_PROXY. */
  http: ProxyVariable | null;
  /** no_proxy, else NO_PROXY: hosts reached directly. */
  noProxy: string;
}

type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** The lower-case name wins over the upper-case one (as in curl); an empty value counts as unset. */
function pick(env: ProxyEnv, name: string): ProxyVariable | null {
  for (const candidate of [name.toLowerCase(), name.toUpperCase()]) {
    const value = env[candidate]?.trim();
    if (value) return { name: candidate, value };
  }
  return null;
}

export function readProxySettings(env: ProxyEnv): ProxySettings {
  return {
    https: pick(env, "https_proxy"),
    http: pick(env, "http_proxy"),
    noProxy: pick(env, "no_proxy")?.value ?? "",
  };
}

/** The proxy variable that applies to `url`, or null for a direct connection. */
export function proxyFor(url: URL, settings: ProxySettings): ProxyVariable | null {
  const proxy = url.protocol === "https:" ? settings.https : url.protocol === "http:" ? settings.http : null;
  if (proxy === null) return null;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return bypassesProxy(url.hostname, port, settings.noProxy) ? null : proxy;
}

/**
 * Whether NO_PROXY lists this host. Entries are separated by commas or spaces, case-insensitive:
 * `*` matches every host; a domain matches itself and its subdomains (a leading `.` or `*.` changes
 * nothing); an IP address matches itself, and a CIDR range (`10.0.0.0/8`, `fd00::/8`) the addresses in
 * it; `host:port` (`[v6]:port`) matches that port only. Names are never resolved to addresses.
 */
export function bypassesProxy(hostname: string, port: string, noProxy: string): boolean {
  const host = unbracket(hostname.toLowerCase()).replace(/\.$/, "");
  const hostFamily = isIP(host);
  for (const raw of noProxy.toLowerCase().split(/[\s,]+/)) {
    if (raw === "") continue;
    if (raw === "*") return true;
    const entry = splitPort(raw);
    if (entry.port !== null && entry.port !== port) continue;
    const [address = "", bits] = entry.host.split("/");
    const family = isIP(address);
    if (family !== 0) {
      if (hostFamily === 0) continue;
      const list = new BlockList();
      const type = family === 6 ? "ipv6" : "ipv4";
      const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) continue;
      list.addSubnet(address, prefix, type);
      if (list.check(host, hostFamily === 6 ? "ipv6" : "ipv4")) return true;
      continue;
    }
    const domain = entry.host.replace(/^\*?\.+/, "").replace(/\.$/, "");
    if (domain !== "" && (host === domain || host.endsWith(`.${domain}`))) return true;
  }
  return false;
}

/** An IPv6 literal's host without its URL brackets (`[::1]` → `::1`); any other as it is. */
export function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address (no port), or a name. */
function splitPort(entry: string): { host: string; port: string | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ?? null };
  const colon = entry.indexOf(":");
  if (colon === -1 || colon !== entry.lastIndexOf(":")) return { host: entry, port: null };
  return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
}
