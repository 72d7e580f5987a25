import { describe, expect, it } from "vitest";
import { NetworkError, timeoutError, toNetworkError } from "../../src/github/network-error.js";

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
const fetchFailed = (cause: unknown) => new TypeError("fetch failed", { cause });
/** minipass-fetch's FetchError: a system error's properties copied onto it, its message after the URL. */
const fetchError = (reason: string, type: string, system?: Error) =>
  Object.assign(
    new FetchError(`request to https://api.github.com/user failed, reason: ${reason}`, type),
    system ?? {},
  );
class FetchError extends Error {
  code = "FETCH_ERROR";
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
  }
}

describe("toNetworkError: fetch's failures as the retry policy needs them", () => {
  const cases: [label: string, error: unknown, code: string, requestSent: boolean][] = [
    ["connection refused", fetchFailed(coded("ECONNREFUSED")), "ECONNREFUSED", false],
    ["unknown host", fetchFailed(coded("ENOTFOUND")), "ENOTFOUND", false],
    [
      "a certificate not trusted",
      fetchFailed(coded("UNABLE_TO_VERIFY_LEAF_SIGNATURE")),
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      false,
    ],
    [
      "a self-signed certificate",
      fetchFailed(coded("DEPTH_ZERO_SELF_SIGNED_CERT")),
      "DEPTH_ZERO_SELF_SIGNED_CERT",
      false,
    ],
    [
      "a wrong host name",
      fetchFailed(coded("ERR_TLS_CERT_ALTNAME_INVALID")),
      "ERR_TLS_CERT_ALTNAME_INVALID",
      false,
    ],
    ["a proxy refusing the tunnel", coded("ERR_PROXY_TUNNEL"), "ERR_PROXY_TUNNEL", false],
    // Anything after connecting may have reached the server.
    ["a reset", fetchFailed(coded("ECONNRESET")), "ECONNRESET", true],
    ["a socket hung up", fetchError("socket hang up", "system", coded("ECONNRESET")), "ECONNRESET", true],
    [
      "a redirect with a bad Location",
      fetchError("bad", "invalid-redirect"),
      "ERR_FETCH_INVALID_REDIRECT",
      true,
    ],
    ["a reason without a code", fetchFailed(new Error("bad port")), "EUNKNOWN", true],
    // Every address of a name refused: the first one's code.
    [
      "all addresses refused",
      fetchFailed(new AggregateError([coded("ECONNREFUSED"), coded("ECONNREFUSED")], "all failed")),
      "ECONNREFUSED",
      false,
    ],
  ];
  for (const [label, error, code, requestSent] of cases) {
    it(`${label}: ${code}, ${requestSent ? "maybe sent" : "not sent"}`, () => {
      const network = toNetworkError(error, null);
      expect(network).toBeInstanceOf(NetworkError);
      expect(network).toBeInstanceOf(TypeError);
      expect([network.message, network.code, network.requestSent, network.timedOut, network.proxy]).toEqual([
        "fetch failed",
        code,
        requestSent,
        false,
        null,
      ]);
    });
  }

  it("keeps the system error's message without minipass-fetch's URL before it", () => {
    const network = toNetworkError(
      fetchError("connect ECONNREFUSED 127.0.0.1:9", "system", coded("ECONNREFUSED")),
      null,
    );
    expect([network.code, (network.cause as Error).message]).toEqual([
      "ECONNREFUSED",
      "connect ECONNREFUSED 127.0.0.1:9",
    ]);
  });

  it("keeps the deepest cause, and names the proxy without its credentials", () => {
    const reason = coded("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:3128");
    const network = toNetworkError(fetchFailed(reason), {
      name: "https_proxy",
      value: "http://me:pw@10.0.0.1:3128",
    });
    expect(network.cause).toBe(reason);
    expect(network.proxy).toBe("http://10.0.0.1:3128 (https_proxy)");
  });

  it("tells a proxy's name that did not resolve from the API's, by Node's hostname or the message's name", () => {
    const via = { name: "HTTPS_PROXY", value: "socks5://u:p@Proxy.Corp:1080" };
    const unresolved = (name: string) => coded("ENOTFOUND", `getaddrinfo ENOTFOUND ${name}`);
    const withHostname = (name: string) =>
      fetchError(
        `getaddrinfo ENOTFOUND ${name}`,
        "system",
        Object.assign(coded("ENOTFOUND"), { hostname: name }),
      );
    expect(toNetworkError(fetchFailed(withHostname("proxy.corp")), via).proxyUnresolved).toBe(true);
    expect(toNetworkError(fetchFailed(unresolved("proxy.corp")), via).proxyUnresolved).toBe(true);
    expect(toNetworkError(fetchFailed(unresolved("api.github.example")), via).proxyUnresolved).toBe(false);
    expect(toNetworkError(fetchFailed(unresolved("proxy.corp")), null).proxyUnresolved).toBe(false);
    expect(toNetworkError(fetchFailed(coded("ECONNREFUSED")), via).proxyUnresolved).toBe(false);
  });

  it("a timeout: ETIMEDOUT, maybe sent", () => {
    const network = timeoutError(8000, null);
    expect([network.code, network.requestSent, network.timedOut]).toEqual(["ETIMEDOUT", true, true]);
    expect((network.cause as Error).message).toBe("no complete answer within 8000 ms");
  });

  it("a timeout before the proxy's tunnel or handshake was up: ETIMEDOUT, sent nowhere", () => {
    const network = timeoutError(8000, { name: "HTTPS_PROXY", value: "http://u:p@proxy:3128" }, false);
    expect([network.code, network.requestSent, network.timedOut, network.proxy]).toEqual([
      "ETIMEDOUT",
      false,
      true,
      "http://proxy:3128 (HTTPS_PROXY)",
    ]);
    expect((network.cause as Error).message).toBe("no connection through the proxy within 8000 ms");
  });
});
