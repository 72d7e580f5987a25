import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyFinalize, applyProgress, createRun } from "../../src/model/run.js";
import type { GitHubTarget } from "../../src/model/types.js";
import { checkAccess, generateToken, isLoopbackHost, sameToken } from "../../src/serve/auth.js";
import { CONTENT_SECURITY_POLICY } from "../../src/serve/http.js";
import { accessToken, type LiveServer, pageUrl, startLiveServer } from "../../src/serve/server.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { nodeFileSystem } from "../../src/util/node-fs.js";
import { GITHUB_TARGET } from "../render/fixtures.js";
import { waitFor } from "../support/cli.js";
import { openEvents } from "./sse-client.js";

const LOCAL: GitHubTarget = { ...GITHUB_TARGET, issueNumber: null, repo: null };
const TOKEN = "a-test-token-of-enough-length";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function fetchRaw(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((done, fail) => {
    const req = httpRequest(
      url,
      { method: options.method ?? "GET", headers: options.headers ?? {} },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", fail);
    req.end();
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A run in a temporary epic directory and a live server on 127.0.0.1 showing it. */
async function serveRun(options: { token?: string | null; domains?: string[] } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "pp-serve-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = new FileRunStore(nodeFileSystem(), dir);
  cleanups.push(() => store.close());
  await mkdir(store.paths.dir, { recursive: true });
  const domains = options.domains ?? ["backend", "frontend", "tests"];
  await store.transact(() => ({
    next: createRun({
      epicId: "EPIC-7",
      domains,
      now: Date.now(),
      github: LOCAL,
      nonce: "beef",
    }),
    result: undefined,
  }));
  const server: LiveServer = await startLiveServer({
    source: store,
    assetsDir: resolve("web"),
    port: 0,
    token: options.token ?? null,
  });
  cleanups.push(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  return { dir, store, server, base };
}

describe("serve: access (pure)", () => {
  it("compares tokens of any length in constant time, and generates long random ones", () => {
    expect(sameToken(TOKEN, TOKEN)).toBe(true);
    expect(sameToken(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(sameToken("", TOKEN)).toBe(false);
    const one = generateToken();
    expect(one).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateToken()).not.toBe(one);
  });

  it("knows loopback host names", () => {
    // As written, and in the other forms the system resolves to loopback and a browser's URL normalises
    // them to (`127.1` and `::ffff:127.0.0.1` had been taken for network hosts, and given a token).
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "localhost",
      "LOCALHOST",
      "::1",
      "[::1]",
      "127.1",
      "2130706433",
      "::ffff:127.0.0.1",
      "[::ffff:7f00:1]",
      "0:0:0:0:0:0:0:1",
    ]) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of [
      "0.0.0.0",
      "192.168.1.2",
      "example.com",
      "127.0.0.1.example.com",
      "::",
      "::ffff:10.0.0.1",
      "128.0.0.1",
      "",
      "a b",
    ]) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  it("requires a token on any host but loopback: the one given, else one generated", () => {
    expect(accessToken("127.0.0.1", undefined)).toBeNull();
    expect(accessToken("::1", null)).toBeNull();
    expect(accessToken("127.0.0.1", "given-token-0123456789")).toBe("given-token-0123456789");
    expect(accessToken("0.0.0.0", "given-token-0123456789")).toBe("given-token-0123456789");
    for (const host of ["0.0.0.0", "192.168.1.2", "::"])
      expect(accessToken(host, undefined)).toMatch(/^[\w-]{43}$/);
  });

  it("prints a URL that carries the token only when there is one", () => {
    expect(pageUrl("127.0.0.1", 7420, null)).toBe("http://127.0.0.1:7420/");
    expect(pageUrl("::1", 81, null)).toBe("http://[::1]:81/");
    expect(pageUrl("10.0.0.5", 7420, "abc")).toBe("http://10.0.0.5:7420/?token=abc");
    expect(pageUrl("0.0.0.0", 7420, "abc")).toMatch(/^http:\/\/[^/]+:7420\/\?token=abc$/);
  });

  it("takes the token from the query (setting the cookie) or from the cookie of its port", () => {
    const message = (headers: Record<string, string>) => ({ headers }) as never;
    const ok = checkAccess(message({}), new URL(`http://h/?token=${TOKEN}`), TOKEN, 7420);
    expect(ok).toEqual({ ok: true, setCookie: `pp_token_7420=${TOKEN}; Path=/; HttpOnly; SameSite=Strict` });
    expect(
      checkAccess(message({ cookie: `a=b; pp_token_7420=${TOKEN}` }), new URL("http://h/"), TOKEN, 7420),
    ).toEqual({
      ok: true,
      setCookie: null,
    });
    expect(
      checkAccess(message({ cookie: `pp_token_7421=${TOKEN}` }), new URL("http://h/"), TOKEN, 7420),
    ).toMatchObject({
      ok: false,
      status: 401,
    });
    expect(
      checkAccess(message({ cookie: "pp_token_7420=%E0%A4%A" }), new URL("http://h/"), TOKEN, 7420).ok,
    ).toBe(false);
  });
});

describe("serve: the HTTP server (no browser)", () => {
  it("serves the page's files with a policy that forbids inline script, nosniff, and nothing else", async () => {
    const { base } = await serveRun();
    const page = await fetchRaw(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    expect(page.body).not.toMatch(/<script>|<script type="module">|\son[a-z]+=/i); // no inline script anywhere

    const script = await fetchRaw(`${base}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(script.body).not.toContain("innerHTML");
    expect((await fetchRaw(`${base}/../package.json`)).status).toBe(404);
    expect((await fetchRaw(`${base}/state.json`)).status).toBe(404);
    const post = await fetchRaw(`${base}/events`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });

  it("answers a request target no URL parser takes with 400, and goes on serving", async () => {
    for (const token of [null, TOKEN]) {
      const { server, base } = await serveRun({ token });
      for (const target of ["http://[", "//[", "http://a:b:c/"]) {
        // Sent by hand (a browser never sends these): before any access check.
        const socket = connect(server.port, "127.0.0.1");
        cleanups.push(async () => void socket.destroy());
        socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
        const answer = await new Promise<string>((got) => {
          socket.once("data", (chunk) => got(String(chunk)));
          socket.once("close", () => got("(closed)"));
        });
        expect(answer.split("\r\n")[0], target).toBe("HTTP/1.1 400 Bad Request");
      }
      expect((await fetchRaw(server.url)).status).toBe(200);
      expect((await fetchRaw(`${base}/style.css`)).status).toBe(token === null ? 200 : 401);
    }
  });

  it("answers on loopback host names only when it has no token (no DNS rebinding)", async () => {
    const { base, server } = await serveRun();
    expect(server.token).toBeNull();
    expect((await fetchRaw(`${base}/`, { headers: { Host: `localhost:${server.port}` } })).status).toBe(200);
    const rebound = await fetchRaw(`${base}/`, { headers: { Host: `attacker.example:${server.port}` } });
    expect(rebound.status).toBe(403);
  });

  it("refuses every request without the token, and accepts the query or the cookie it sets", async () => {
    const { base, server } = await serveRun({ token: TOKEN });
    expect(server.url).toBe(`${base}/?token=${TOKEN}`);
    for (const path of ["/", "/app.js", "/events", `/?token=${TOKEN}x`]) {
      const refused = await fetchRaw(`${base}${path}`);
      expect(refused.status).toBe(401);
      expect(refused.body).not.toContain(TOKEN);
    }
    const opened = await fetchRaw(server.url);
    expect(opened.status).toBe(200);
    const cookie = String(opened.headers["set-cookie"]).split(";")[0]!;
    expect(cookie).toBe(`pp_token_${server.port}=${TOKEN}`);
    expect((await fetchRaw(`${base}/style.css`, { headers: { Cookie: cookie } })).status).toBe(200);
  });

  it("streams the run on connect, then only what changed, within a second of a change by the store", async () => {
    const { store, base } = await serveRun();
    const stream = await openEvents(`${base}/events`);
    cleanups.push(async () => stream.close());
    expect(stream.response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const snapshot = (await stream.next((e) => e.event === "snapshot")).data as {
      view: { agents: { domain: string }[]; run: { countsText: string } };
      history: { overall: unknown[] };
    };
    expect(snapshot.view.agents.map((row) => row.domain)).toEqual(["backend", "frontend", "tests"]);
    expect(snapshot.view.run.countsText).toBe("3 pending, 0 running, 0 completed, 0 failed");

    const changedAt = Date.now();
    await store.transact((current) => ({
      next: applyProgress(
        current!,
        "frontend",
        { status: "in_progress", filesCompleted: 2, filesTotal: 5 },
        Date.now(),
      ),
      result: undefined,
    }));
    const change = (await stream.next((e) => e.event === "change")).data as {
      rows: { changed: { domain: string; filesCompleted: number }[]; order: unknown };
      run: { countsText: string };
      history: { overall: [number, number, number][] };
    };
    expect(Date.now() - changedAt).toBeLessThan(1000);
    expect(change.rows.changed).toEqual([expect.objectContaining({ domain: "frontend", filesCompleted: 2 })]);
    expect(change.rows.order).toBeNull();
    expect(change.run.countsText).toBe("2 pending, 1 running, 0 completed, 0 failed");
    expect(change.history.overall.at(-1)!.slice(1)).toEqual([2, 5]);
  });

  it("sends every page a new snapshot when a new run replaces the old one, and says why it ends", async () => {
    const { store, server, base } = await serveRun();
    const stream = await openEvents(`${base}/events`);
    cleanups.push(async () => stream.close());
    await stream.next((e) => e.event === "snapshot");
    const seen = stream.events.length;
    await store.transact(() => ({
      next: createRun({
        epicId: "EPIC-8",
        domains: ["docs"],
        now: Date.now(),
        github: LOCAL,
        nonce: "cafe",
      }),
      result: undefined,
    }));
    const fresh = await stream.next((e) => e.event === "snapshot", seen);
    expect((fresh.data as { view: { run: { epicId: string } } }).view.run.epicId).toBe("EPIC-8");

    await store.transact((current) => ({
      next: applyFinalize(current!, "merged", Date.now()),
      result: undefined,
    }));
    await stream.next(
      (e) => e.event === "change" && (e.data as { run: { completedAt: unknown } }).run.completedAt !== null,
    );
    await server.close("the run is finalized");
    expect(await stream.next((e) => e.event === "end")).toEqual({
      event: "end",
      data: { reason: "the run is finalized" },
    });
    await stream.ended;
  });

  it("tells a page that connects while the run cannot be read why, as it told the pages already open", async () => {
    const { store, server, base } = await serveRun();
    await writeFile(store.paths.state, "{ not json");
    await server.live.refresh();
    expect(server.live.problem).toMatch(/not valid JSON/);
    const stream = await openEvents(`${base}/events`);
    cleanups.push(async () => stream.close());
    const problem = await stream.next((event) => event.event === "problem");
    expect(problem.data).toEqual({ kind: "problem", message: server.live.problem });
    // The run it last read is still the snapshot's, before the problem.
    expect(stream.events.map((event) => event.event)).toEqual(["snapshot", "problem"]);
  });

  it("closes the stream of a page that stops reading, rather than holding every change for it", async () => {
    const domains = Array.from({ length: 1000 }, (_, i) => `domain-${String(i).padStart(4, "0")}`);
    const { store, server } = await serveRun({ domains });
    // A client that sends its request and then reads nothing.
    const socket = connect(server.port, "127.0.0.1");
    cleanups.push(async () => void socket.destroy());
    socket.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    await new Promise((started) => socket.once("data", started)); // the server is streaming to it
    socket.pause();
    let closed = false;
    socket.on("close", () => (closed = true));
    socket.on("error", () => undefined);
    // Each new run is a snapshot of 1,000 agents (about 0.4 MB) for every page. Far more than the limit,
    // counting what the kernel's buffers take first, which is bounded too.
    for (let n = 0; n < 60; n++) {
      await store.transact(() => ({
        next: createRun({ epicId: `EPIC-${n}`, domains, now: Date.now(), github: LOCAL, nonce: "cafe" }),
        result: undefined,
      }));
      await server.live.refresh();
    }
    socket.resume(); // what was sent before the close is read, then the close is seen
    expect(await waitFor(() => closed, 20_000)).toBe(true);
  }, 60_000);
});
