import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { type AddressInfo, connect, createServer as createNetServer, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createFetch, proxyUrl } from "../../src/github/fetch.js";
import { NetworkError } from "../../src/github/network-error.js";
import { readProxySettings } from "../../src/github/proxy.js";
import { waitFor } from "../support/cli.js";
import { closedPort, silentServer, useLoopbackServers } from "../support/loopback.js";

const run = promisify(execFile);
const serve = useLoopbackServers();
const direct = createFetch(null, 5000);

async function failure(promise: Promise<unknown>): Promise<NetworkError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NetworkError);
  return error as NetworkError;
}

describe("createFetch: minipass-fetch, bounded and buffered", () => {
  it("sends method, headers and body, and answers with the status, headers and the whole body", async () => {
    const { url, received } = await serve((_req, res) => {
      res.writeHead(201, "Created", { "content-type": "application/json; charset=utf-8", link: "<x>" });
      res.write('{"id":7,');
      setTimeout(() => res.end('"body":"héllo"}'), 20);
    });
    const response = await direct(`${url}/comments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "token abc" },
      body: '{"body":"héllo"}',
    });
    expect(response.status).toBe(201);
    expect(response.statusText).toBe("Created");
    expect(response.headers.get("link")).toBe("<x>");
    expect(await response.json()).toEqual({ id: 7, body: "héllo" });
    expect(received.map((r) => [r.method, r.url, r.body, r.headers.authorization])).toEqual([
      ["POST", "/comments", '{"body":"héllo"}', "token abc"],
    ]);
  });

  it("answers a 204 with no body", async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    const response = await direct(`${url}/x`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
  });

  it("takes a timeout with a fraction of a millisecond, or none left, as whole milliseconds", async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    // AbortSignal.timeout throws a RangeError for a delay that is not a whole number.
    expect((await createFetch(null, 7820.788818359375)(`${url}/x`)).status).toBe(204);
    const silent = await serve(() => undefined);
    const error = await failure(createFetch(null, -0.5)(`${silent.url}/x`));
    expect(error.timedOut).toBe(true);
  });

  it("fails a refused connection as not sent", async () => {
    const port = await closedPort();
    const error = await failure(direct(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" }));
    expect(error.message).toBe("fetch failed");
    expect([error.code, error.requestSent, error.timedOut, error.proxy]).toEqual([
      "ECONNREFUSED",
      false,
      false,
      null,
    ]);
  });

  it("marks a request as sent when the connection drops after the server read it", async () => {
    const { url, received } = await serve((_req, res) => res.socket?.destroy());
    const error = await failure(direct(url, { method: "POST", body: '{"a":1}' }));
    expect([error.code, error.requestSent]).toEqual(["ECONNRESET", true]);
    expect(received).toHaveLength(1);
  });

  it("times out the whole exchange: a server that never answers, and a body that stops half-way", async () => {
    const { url } = await serve(() => {});
    const hung = await failure(createFetch(null, 150)(url));
    expect([hung.code, hung.timedOut, hung.requestSent]).toEqual(["ETIMEDOUT", true, true]);
    const half = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    });
    const stalled = await failure(createFetch(null, 150)(half.url));
    expect(stalled.timedOut).toBe(true);
  });

  // Not GitHub (a wrong --api-url serving a file, a broken proxy): read to the end or to the timeout, an
  // endless answer filled the memory at the loopback's pace (about 1 GB in 3 s here) and was then
  // explained as GitHub not answering.
  it("fails an answer larger than the limit as soon as it is, without reading it to the end", async () => {
    const chunk = Buffer.alloc(64 * 1024, "a");
    const endless = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
      };
      res.on("drain", pump);
      pump();
    });
    const tooLong = await failure(createFetch(null, 5000, 1024 * 1024)(endless.url));
    expect([tooLong.code, tooLong.requestSent, tooLong.timedOut]).toEqual([
      "ERR_ANSWER_TOO_LARGE",
      true,
      false,
    ]);
    expect((tooLong.cause as Error).message).toBe("the answer is larger than 1 MiB");
    // Announced too large: refused before its body is read.
    const announced = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(2 * 1024 * 1024) });
      res.write("{");
    });
    const refused = await failure(createFetch(null, 5000, 1024 * 1024)(announced.url));
    expect([refused.code, refused.timedOut]).toEqual(["ERR_ANSWER_TOO_LARGE", false]);
    // Up to the limit, an answer is whole.
    const { url } = await serve((_req, res) => res.end(Buffer.alloc(1024 * 1024, "b")));
    const whole = await createFetch(null, 5000, 1024 * 1024)(url);
    expect((await whole.arrayBuffer()).byteLength).toBe(1024 * 1024);
  });

  it("fails when the connection closes mid-body, as sent", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => res.socket?.destroy());
    });
    const error = await failure(direct(url));
    expect(error.requestSent).toBe(true);
  });

  it("honours the caller's AbortSignal", async () => {
    const { url } = await serve(() => {});
    const late = new AbortController();
    const pending = direct(url, { signal: late.signal });
    setTimeout(() => late.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("follows redirects, and does not send the token to another origin (the same host on another port)", async () => {
    const target = await serve((_req, res) => res.writeHead(200).end("there"));
    const origin = await serve(
      (_req, res) => res.writeHead(301, { location: "/moved" }).end("moved"),
      (_req, res) => res.writeHead(303, { location: `${target.url}/elsewhere` }).end(),
    );
    const response = await direct(origin.url, {
      method: "POST",
      headers: { authorization: "token secret", "content-type": "application/json" },
      body: "{}",
    });
    expect([response.status, response.url, await response.text()]).toEqual([
      200,
      `${target.url}/elsewhere`,
      "there",
    ]);
    // 301 after a POST and 303 continue as a GET without a body or its type, as the fetch standard says.
    expect(
      origin.received.map((r) => [r.method, r.url, r.headers.authorization, r.headers["content-type"]]),
    ).toEqual([
      ["POST", "/", "token secret", "application/json"],
      ["GET", "/moved", "token secret", undefined],
    ]);
    expect(target.received.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ["GET", "/elsewhere", undefined],
    ]);
  });

  it("fails as not sent when the proxy refuses the CONNECT tunnel, rather than answering its 403 as GitHub's", async () => {
    const proxyServer = createServer();
    proxyServer.on("connect", (_req, socket: Socket) =>
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: text/html\r\ncontent-length: 6\r\n\r\ndenied"),
    );
    await new Promise<void>((resolve) => proxyServer.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = proxyServer.address() as AddressInfo;
      const proxy = readProxySettings({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
      const error = await failure(createFetch(proxy, 5000)("https://api.github.example/user"));
      expect([error.code, error.requestSent, error.proxy]).toEqual([
        "ERR_PROXY_TUNNEL",
        false,
        `http://127.0.0.1:${port} (HTTPS_PROXY)`,
      ]);
    } finally {
      proxyServer.closeAllConnections();
      await new Promise((resolve) => proxyServer.close(resolve));
    }
  });

  // A proxy that accepts the connection and never answers the CONNECT (or the SOCKS greeting): the request
  // times out, and the connection to the proxy must close with it. Left open, it keeps a CLI process alive
  // after its work is done, until the proxy hangs up (tinyproxy: 10 minutes). Nothing of the request was
  // written (it waits for the tunnel): sent nowhere, so a create is tried again rather than held as unsure.
  it.each([
    ["an http:// proxy's CONNECT", "http"],
    ["a socks5h:// proxy's greeting", "socks5h"],
  ])("closes the connection to the proxy when %s hangs and the request times out", async (_, scheme) => {
    const silent = await silentServer();
    try {
      const proxy = readProxySettings({ HTTPS_PROXY: `${scheme}://127.0.0.1:${silent.port}` });
      const error = await failure(createFetch(proxy, 300)("https://api.github.example/user"));
      expect([error.code, error.timedOut, error.requestSent, silent.accepted()]).toEqual([
        "ETIMEDOUT",
        true,
        false,
        1,
      ]);
      expect(await waitFor(() => silent.open.size === 0, 5000)).toBe(true);
    } finally {
      await silent.close();
    }
  });

  // Past the proxy's handshake (or, for an http:// API, once connected to the proxy, which is given the
  // request itself), the request is written: a timeout then may have been after GitHub read it.
  it.each([
    ["a SOCKS5 handshake is done", "socks5"],
    ["an http:// proxy is given the request", "http"],
  ])("takes a request as maybe sent when it times out once %s", async (_, scheme) => {
    const target = await serve(() => undefined); // reads the request, never answers
    const open = new Set<Socket>();
    const proxyServer = createNetServer((client) => {
      open.add(client);
      client.on("error", () => undefined);
      client.on("close", () => open.delete(client));
      if (scheme === "http") {
        // Forwards nothing and never answers: it holds the request, as a proxy that sent it on may.
        client.resume();
        return;
      }
      client.once("data", () => {
        client.write(Buffer.from([5, 0]));
        client.once("data", (request: Buffer) => {
          const upstream = connect(request.readUInt16BE(request.length - 2), "127.0.0.1", () => {
            client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
            client.pipe(upstream).pipe(client);
          });
          upstream.on("error", () => client.destroy());
          client.on("close", () => upstream.destroy());
        });
      });
    });
    await new Promise<void>((resolve) => proxyServer.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = proxyServer.address() as AddressInfo;
      const proxy = readProxySettings({ HTTP_PROXY: `${scheme}://127.0.0.1:${port}` });
      const error = await failure(createFetch(proxy, 500)(target.url, { method: "POST", body: "{}" }));
      expect([error.code, error.timedOut, error.requestSent]).toEqual(["ETIMEDOUT", true, true]);
      if (scheme === "socks5") expect(target.received.map((r) => r.method)).toEqual(["POST"]);
    } finally {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => proxyServer.close(resolve));
    }
  });

  // socks5:// (as curl): the host name is resolved here, the proxy is given the address; socks5h:// and
  // socks:// (as curl's socks5h): the proxy is given the name and resolves it.
  it.each([
    ["socks5", "an address"],
    ["socks5h", "the name"],
    ["socks", "the name"],
  ])("goes through a %s:// proxy, which is given %s to connect to", async (scheme, given) => {
    const { url, received } = await serve((_req, res) => res.end("via socks"));
    const connects: string[] = [];
    const sockets: Socket[] = [];
    // A minimal SOCKS5 server (no authentication, CONNECT only), enough to see the request go through it.
    const socks = createNetServer((client) => {
      sockets.push(client);
      client.once("data", () => {
        client.write(Buffer.from([5, 0]));
        client.once("data", (request: Buffer) => {
          const port = request.readUInt16BE(request.length - 2);
          // The address type: 1 IPv4, 3 a name, 4 IPv6 (localhost may resolve to ::1 here).
          const kind = request[3];
          const host =
            kind === 1
              ? [...request.subarray(4, 8)].join(".")
              : kind === 4
                ? "::1"
                : request.subarray(5, -2).toString();
          connects.push(kind === 3 ? `name ${host}` : "address");
          // The API listens on 127.0.0.1 only.
          const upstream = connect(port, "127.0.0.1", () => {
            client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
            client.pipe(upstream).pipe(client);
          });
        });
      });
    });
    await new Promise<void>((resolve) => socks.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = socks.address() as AddressInfo;
      const proxy = readProxySettings({ HTTP_PROXY: `${scheme}://127.0.0.1:${port}` });
      const api = new URL(url);
      api.hostname = "localhost";
      const response = await createFetch(proxy, 5000)(`${api.origin}/x`);
      expect(await response.text()).toBe("via socks");
      const expected = given === "the name" ? "name localhost" : "address";
      expect([connects, received.map((r) => r.url)]).toEqual([[expected], ["/x"]]);
    } finally {
      for (const socket of sockets) socket.destroy(); // the agent keeps its connection alive
      await new Promise((resolve) => socks.close(resolve));
    }
  });

  it("never loads Node's own fetch (undici: ~250 ms of CPU on a Node 20 process's first request)", async () => {
    const { url } = await serve((_req, res) => res.end("ok"));
    // A fresh process: a module loads once per process.
    const script = `
      const { createFetch } = await import(${JSON.stringify(join(process.cwd(), "src/github/fetch.ts"))});
      const response = await createFetch(null, 5000)(${JSON.stringify(url)});
      console.log(JSON.stringify({
        text: await response.text(),
        undici: process.moduleLoadList.some((m) => m.includes("internal/deps/undici")),
      }));`;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]);
    expect(JSON.parse(stdout)).toEqual({ text: "ok", undici: false });
  });

  it("fails a request whose proxy variable is not a URL, naming the variable but never its password", async () => {
    const proxy = readProxySettings({ HTTPS_PROXY: "http://user:s3cret@[bad" });
    const error = await failure(createFetch(proxy, 1000)("https://api.github.com/"));
    expect([error.code, error.requestSent]).toEqual(["ERR_PROXY_URL", false]);
    expect(String((error.cause as Error).message)).toContain("HTTPS_PROXY is not a proxy URL");
    expect(JSON.stringify([error.message, (error.cause as Error).message, error.proxy])).not.toContain(
      "s3cret",
    );
  });

  it("never shows a proxy password holding /, ? or #, which breaks the URL", async () => {
    for (const password of ["s3/cret", "s3?cret", "s3#cret", "a/b@c"]) {
      const proxy = readProxySettings({ HTTPS_PROXY: `http://user:${password}@proxy.corp:3128` });
      const error = await failure(createFetch(proxy, 1000)("https://api.github.com/"));
      const shown = JSON.stringify([error.message, (error.cause as Error).message, error.proxy]);
      expect(error.code).toBe("ERR_PROXY_URL");
      expect(shown).toContain("http://***@proxy.corp:3128");
      expect(shown).not.toContain("s3");
      expect(shown).not.toContain("cret");
    }
  });

  it("reads a proxy given as host:port as http://host:port, as curl does", () => {
    expect(proxyUrl({ name: "HTTPS_PROXY", value: "proxy.corp:3128" })).toBe("http://proxy.corp:3128/");
    expect(proxyUrl({ name: "https_proxy", value: "https://u:p@proxy.corp" })).toBe(
      "https://u:p@proxy.corp/",
    );
    expect(() => proxyUrl({ name: "HTTPS_PROXY", value: "ftp://proxy.corp" })).toThrow(NetworkError);
  });

  it.each(["http", "socks5", "socks5h"])(
    "names the %s:// proxy (without its password) when the connection to it fails, sent nowhere",
    async (scheme) => {
      const port = await closedPort();
      const proxy = readProxySettings({ HTTP_PROXY: `${scheme}://user:s3cret@127.0.0.1:${port}` });
      const target = await serve((_req, res) => res.end("never"));
      const error = await failure(createFetch(proxy, 5000)(target.url));
      expect([error.code, error.requestSent, error.proxy]).toEqual([
        "ECONNREFUSED",
        false,
        `${scheme}://127.0.0.1:${port} (HTTP_PROXY)`,
      ]);
      expect(target.received).toHaveLength(0);
    },
  );

  it("takes a SOCKS5 proxy's refusal of the connection to the API as sent nowhere (ERR_PROXY_SOCKS)", async () => {
    const target = await serve((_req, res) => res.end("never"));
    const sockets: Socket[] = [];
    // Greets, then answers the CONNECT with 5: "connection refused" (the API unreachable from the proxy).
    const socks = createNetServer((client) => {
      sockets.push(client);
      client.once("data", () => {
        client.write(Buffer.from([5, 0]));
        client.once("data", () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
      });
    });
    await new Promise<void>((resolve) => socks.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = socks.address() as AddressInfo;
      const proxy = readProxySettings({ HTTP_PROXY: `socks5h://127.0.0.1:${port}` });
      const error = await failure(createFetch(proxy, 5000)(target.url));
      expect([error.code, error.requestSent]).toEqual(["ERR_PROXY_SOCKS", false]);
      expect((error.cause as Error).message).toContain("Socks5 proxy rejected connection");
      expect(target.received).toHaveLength(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => socks.close(resolve));
    }
  });
});

describe("an API URL with an IPv6 address", () => {
  // No server is started (tests listen on 127.0.0.1 only): a closed port on ::1 answers "refused", where
  // the bracketed name looked up as a host name failed as "not found".
  it.each(["http", "https"])("connects to the address (%s), not to a host name [::1]", async (scheme) => {
    const error = await createFetch(null, 3000)(`${scheme}://[::1]:1/repos`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).code).not.toBe("ENOTFOUND");
  });
});
