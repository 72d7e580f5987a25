import { describe, expect, it } from "vitest";
import { createNodeFetch, NetworkError, nodeFetch } from "../../src/github/node-fetch.js";
import { closedPort, useLoopbackServers } from "../support/loopback.js";

const serve = useLoopbackServers();

describe("nodeFetch", () => {
  it("returns a 204 with an empty body", async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    const response = await nodeFetch(`${url}/x`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(response.ok).toBe(true);
    expect(response.url).toBe(`${url}/x`);
    expect(await response.text()).toBe("");
  });

  it("sends method, headers and body, and reads a JSON answer", async () => {
    const { url, received } = await serve((_req, res) => {
      res
        .writeHead(201, "Created", { "content-type": "application/json; charset=utf-8" })
        .end('{"id":7,"body":"héllo"}');
    });
    const response = await nodeFetch(`${url}/comments`, {
      method: "POST",
      headers: { "Content-Type": "application/json", authorization: "token abc" },
      body: JSON.stringify({ body: "héllo" }),
    });
    expect(response.status).toBe(201);
    expect(response.statusText).toBe("Created");
    expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(await response.json()).toEqual({ id: 7, body: "héllo" });
    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe("POST");
    expect(received[0]?.body).toBe('{"body":"héllo"}');
    expect(received[0]?.headers["content-length"]).toBe(String(Buffer.byteLength('{"body":"héllo"}')));
    expect(received[0]?.headers.authorization).toBe("token abc");
  });

  it("reads text and bytes, once", async () => {
    const { url } = await serve((_req, res) =>
      res.writeHead(200, { "content-type": "text/plain" }).end("plain"),
    );
    const first = await nodeFetch(url);
    expect(await first.text()).toBe("plain");
    await expect(first.text()).rejects.toThrow(TypeError);
    const second = await nodeFetch(url);
    expect(Buffer.from(await second.arrayBuffer()).toString()).toBe("plain");
    expect(second.bodyUsed).toBe(true);
  });

  it("decodes text as TextDecoder does: a leading BOM dropped, malformed bytes as U+FFFD, chunks joined", async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("héllo "), Buffer.from([0xff])]);
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      // Two writes, so the answer arrives in more than one chunk.
      res.write(body.subarray(0, 4));
      setTimeout(() => res.end(body.subarray(4)), 20);
    });
    const expected = new TextDecoder("utf-8").decode(body);
    expect(expected).toBe("héllo \uFFFD");
    expect(await (await nodeFetch(url)).text()).toBe(expected);
  });

  it("iterates headers as sorted lowercase pairs, joining repeated ones", async () => {
    const { url } = await serve((_req, res) => {
      res.setHeader("X-Zeta", "z");
      res.setHeader("Link", '<http://x/?page=2>; rel="next"');
      res.setHeader("X-Multi", ["a", "b"]);
      res.writeHead(200).end();
    });
    const response = await nodeFetch(url);
    const pairs = [...response.headers].filter(([name]) => name.startsWith("x-") || name === "link");
    expect(pairs).toEqual([
      ["link", '<http://x/?page=2>; rel="next"'],
      ["x-multi", "a, b"],
      ["x-zeta", "z"],
    ]);
    expect(response.headers.get("LINK")).toBe('<http://x/?page=2>; rel="next"');
    expect(response.headers.get("missing")).toBeNull();
    expect(Object.fromEntries(response.headers).link).toBeDefined();
  });

  it("fails like undici on a refused connection, marking the request as not sent", async () => {
    const port = await closedPort();
    const error = await nodeFetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "{}" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toBeInstanceOf(NetworkError);
    const network = error as NetworkError;
    expect(network.message).toBe("fetch failed");
    expect(network.code).toBe("ECONNREFUSED");
    expect(network.requestSent).toBe(false);
    expect(network.timedOut).toBe(false);
    expect((network.cause as { code?: string }).code).toBe("ECONNREFUSED");
  });

  it("marks a request as sent when the connection drops after the server read it", async () => {
    const { url, received } = await serve((_req, res) => res.socket?.destroy());
    const error = (await nodeFetch(url, { method: "POST", body: '{"a":1}' }).catch(
      (e: unknown) => e,
    )) as NetworkError;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.requestSent).toBe(true);
    expect(error.code).toBe("ECONNRESET");
    expect(received).toHaveLength(1);
  });

  it("times out the whole exchange when the server accepts and never answers", async () => {
    const { url } = await serve(() => {});
    const started = Date.now();
    const error = (await createNodeFetch({ timeoutMs: 150 })(url).catch((e: unknown) => e)) as NetworkError;
    // Without the timeout it would wait for ever; loose, for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.timedOut).toBe(true);
    expect(error.code).toBe("ETIMEDOUT");
    expect(error.requestSent).toBe(true);
  });

  it("times out a body that stops half-way", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    });
    const error = (await createNodeFetch({ timeoutMs: 150 })(url).catch((e: unknown) => e)) as NetworkError;
    expect(error.timedOut).toBe(true);
  });

  it("fails when the connection closes mid-body", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => res.socket?.destroy());
    });
    const error = (await nodeFetch(url).catch((e: unknown) => e)) as NetworkError;
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.requestSent).toBe(true);
  });

  it("honours an AbortSignal, before and during the request", async () => {
    const { url } = await serve(() => {});
    const early = new AbortController();
    early.abort();
    await expect(nodeFetch(url, { signal: early.signal })).rejects.toMatchObject({ name: "AbortError" });
    const late = new AbortController();
    const pending = nodeFetch(url, { signal: late.signal });
    setTimeout(() => late.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
  });

  it("follows redirects: 307 keeps the method, 301 turns a POST into a GET, another origin loses the token", async () => {
    const target = await serve((_req, res) => res.writeHead(200).end("there"));
    const origin = await serve((req, res) => {
      if (req.url === "/keep") res.writeHead(307, { location: "/final" }).end();
      else if (req.url === "/moved") res.writeHead(301, { location: "/final" }).end();
      else if (req.url === "/away") res.writeHead(302, { location: `${target.url}/elsewhere` }).end();
      else res.writeHead(200).end("here");
    });
    const init = { method: "POST", body: "x", headers: { authorization: "token secret" } };
    const kept = await nodeFetch(`${origin.url}/keep`, init);
    expect(kept.url).toBe(`${origin.url}/final`);
    expect(kept.redirected).toBe(true);
    expect(origin.received.slice(0, 2).map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
      "POST /keep x",
      "POST /final x",
    ]);
    await nodeFetch(`${origin.url}/moved`, init);
    expect(origin.received.slice(2).map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
      "POST /moved x",
      "GET /final ",
    ]);
    expect(await (await nodeFetch(`${origin.url}/away`, init)).text()).toBe("there");
    expect(target.received[0]?.headers.authorization).toBeUndefined();
    const manual = await nodeFetch(`${origin.url}/keep`, { redirect: "manual" });
    expect(manual.status).toBe(307);
    await expect(nodeFetch(`${origin.url}/keep`, { redirect: "error" })).rejects.toBeInstanceOf(TypeError);
  });
});
