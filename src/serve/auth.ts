import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BlockList, isIP, isIPv6 } from "node:net";

/**
 * Who may see the page. On a loopback address without a token, anyone on this machine (as for any
 * local dev server), but only through a loopback host name, so that a web page whose name is made to
 * resolve to 127.0.0.1 (DNS rebinding) cannot read the run. With a token (required on any other host),
 * a request carries it as `?token=` or in the cookie the server sets when the URL with the token is opened.
 */

/** 32 random bytes, URL-safe: what the printed URL carries when no --token is given. */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Constant-time comparison; hashing first makes the lengths equal without revealing them. */
export function sameToken(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** 127.0.0.0/8 and ::1; Node's BlockList matches an IPv4-mapped IPv6 address (`::ffff:7f00:1`) by its IPv4 rule. */
let loopback: BlockList | null = null;

/**
 * `localhost`, or a loopback address in any of the forms a host may be written in and a browser's URL
 * normalises (WHATWG's parser: `127.1`, `2130706433`, `::ffff:127.0.0.1` as `[::ffff:7f00:1]`), which the
 * system resolves to the same address: a server on one of them is on loopback, and needs no token.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost") return true;
  let name: string;
  try {
    name = new URL(`http://${isIPv6(bare) ? `[${bare}]` : bare}/`).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return false;
  }
  const family = isIP(name);
  if (family === 0) return false;
  if (loopback === null) {
    loopback = new BlockList();
    loopback.addSubnet("127.0.0.0", 8, "ipv4");
    loopback.addAddress("::1", "ipv6");
  }
  return loopback.check(name, family === 4 ? "ipv4" : "ipv6");
}

/** The cookie's name carries the port: browsers share cookies between the ports of one host. */
function cookieName(port: number): string {
  return `pp_token_${port}`;
}

type Access = { ok: true; setCookie: string | null } | { ok: false; status: 401 | 403; reason: string };

export function checkAccess(request: IncomingMessage, url: URL, token: string | null, port: number): Access {
  if (token === null) {
    const host = (request.headers.host ?? "").replace(/:\d+$/, "");
    return isLoopbackHost(host)
      ? { ok: true, setCookie: null }
      : { ok: false, status: 403, reason: "this server answers on a loopback host name only" };
  }
  const name = cookieName(port);
  const fromQuery = url.searchParams.get("token");
  if (fromQuery !== null && sameToken(fromQuery, token)) {
    return {
      ok: true,
      setCookie: `${name}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
    };
  }
  const fromCookie = readCookie(request.headers.cookie ?? "", name);
  if (fromCookie !== null && sameToken(fromCookie, token)) return { ok: true, setCookie: null };
  return { ok: false, status: 401, reason: "open the URL printed by `serve`: it carries the access token" };
}

function readCookie(header: string, name: string): string | null {
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index > 0 && part.slice(0, index).trim() === name) {
      try {
        return decodeURIComponent(part.slice(index + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}
