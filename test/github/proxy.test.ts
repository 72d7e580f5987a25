import { describe, expect, it } from "vitest";
import { bypassesProxy, proxyFor, readProxySettings } from "../../src/github/proxy.js";

const at = (url: string, env: Record<string, string>) => proxyFor(new URL(url), readProxySettings(env));

describe("readProxySettings and proxyFor: which variable applies", () => {
  it("uses HTTPS_PROXY for https and HTTP_PROXY for http, each in either case", () => {
    const env = { HTTPS_PROXY: "http://secure:3128", http_proxy: "http://plain:3128" };
    expect(at("https://api.github.com/x", env)).toEqual({ name: "HTTPS_PROXY", value: "http://secure:3128" });
    expect(at("http://ghe.local/api/v3", env)).toEqual({ name: "http_proxy", value: "http://plain:3128" });
    expect(at("https://api.github.com", { HTTP_PROXY: "http://plain:3128" })).toBeNull();
    expect(at("http://ghe.local", { HTTPS_PROXY: "http://secure:3128" })).toBeNull();
  });

  it("prefers the lower-case name when both are set, and ignores empty values", () => {
    expect(at("https://a.example", { https_proxy: "http://low:1", HTTPS_PROXY: "http://UP:2" })?.value).toBe(
      "http://low:1",
    );
    expect(at("https://a.example", { https_proxy: " ", HTTPS_PROXY: "http://up:2" })?.value).toBe(
      "http://up:2",
    );
    expect(readProxySettings({ no_proxy: "low.example", NO_PROXY: "up.example" }).noProxy).toBe(
      "low.example",
    );
    expect(readProxySettings({ NO_PROXY: "up.example" }).noProxy).toBe("up.example");
    expect(readProxySettings({})).toEqual({ https: null, http: null, noProxy: "" });
  });

  it("goes direct for a host NO_PROXY lists, and through the proxy for the others", () => {
    const env = { HTTPS_PROXY: "proxy:3128", NO_PROXY: "ghe.corp.example, 10.0.0.0/8" };
    expect(at("https://ghe.corp.example/api/v3", env)).toBeNull();
    expect(at("https://10.1.2.3/api/v3", env)).toBeNull();
    expect(at("https://api.github.com", env)?.name).toBe("HTTPS_PROXY");
  });

  it("compares NO_PROXY ports with the URL's port, the scheme's default included", () => {
    expect(at("https://ghe.example", { HTTPS_PROXY: "p:1", NO_PROXY: "ghe.example:443" })).toBeNull();
    expect(
      at("https://ghe.example:8443", { HTTPS_PROXY: "p:1", NO_PROXY: "ghe.example:443" }),
    ).not.toBeNull();
    expect(at("http://ghe.example", { HTTP_PROXY: "p:1", NO_PROXY: "ghe.example:80" })).toBeNull();
  });
});

describe("bypassesProxy: the NO_PROXY rule", () => {
  const cases: [host: string, port: string, noProxy: string, expected: boolean][] = [
    // `*` alone matches everything; inside a list too.
    ["api.github.com", "443", "*", true],
    ["api.github.com", "443", "example.com, *", true],
    // A domain matches itself and its subdomains, at a dot boundary only, in any case.
    ["example.com", "443", "example.com", true],
    ["api.example.com", "443", "example.com", true],
    ["API.Example.COM", "443", "example.COM", true],
    ["notexample.com", "443", "example.com", false],
    ["example.com.evil.net", "443", "example.com", false],
    // A leading dot or `*.` changes nothing (as in curl): the domain itself matches too.
    ["example.com", "443", ".example.com", true],
    ["a.b.example.com", "443", ".example.com", true],
    ["example.com", "443", "*.example.com", true],
    ["api.example.com", "443", "*.example.com", true],
    // Trailing dots (fully qualified names) are ignored on both sides.
    ["example.com.", "443", "example.com", true],
    ["api.example.com", "443", "example.com.", true],
    // Separators: commas, spaces, both, empty entries.
    ["b.example", "443", "a.example b.example", true],
    ["c.example", "443", " a.example,, b.example ,c.example ", true],
    ["d.example", "443", "a.example,b.example", false],
    ["d.example", "443", "", false],
    // Ports: an entry with a port matches that port only.
    ["ghe.example", "8443", "ghe.example:8443", true],
    ["ghe.example", "443", "ghe.example:8443", false],
    ["ghe.example", "8443", "ghe.example", true],
    // IP addresses: exact, and CIDR ranges; names are not resolved.
    ["127.0.0.1", "80", "127.0.0.1", true],
    ["127.0.0.2", "80", "127.0.0.1", false],
    ["10.20.30.40", "443", "10.0.0.0/8", true],
    ["11.0.0.1", "443", "10.0.0.0/8", false],
    ["192.168.1.7", "443", "192.168.1.0/24", true],
    ["127.0.0.1", "80", "localhost", false],
    ["localhost", "80", "127.0.0.1", false],
    ["127.0.0.1", "8080", "127.0.0.1:8080", true],
    ["127.0.0.1", "9090", "127.0.0.1:8080", false],
    // IPv6: with or without brackets, ranges, ports in brackets; address forms are compared as addresses.
    ["[::1]", "443", "::1", true],
    ["[::1]", "443", "[::1]", true],
    ["[0:0:0:0:0:0:0:1]", "443", "::1", true],
    ["[fd00::5]", "443", "fd00::/8", true],
    ["[fe80::5]", "443", "fd00::/8", false],
    ["[::1]", "8443", "[::1]:8443", true],
    ["[::1]", "443", "[::1]:8443", false],
    // A broken CIDR entry matches nothing rather than everything.
    ["10.0.0.1", "443", "10.0.0.0/99", false],
  ];
  for (const [host, port, noProxy, expected] of cases) {
    it(`${host}:${port} with NO_PROXY="${noProxy}" → ${expected ? "direct" : "proxy"}`, () => {
      expect(bypassesProxy(host, port, noProxy)).toBe(expected);
    });
  }
});
