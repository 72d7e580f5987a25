import type { IncomingMessage, ServerResponse } from "node:http";
import type { Asset } from "./assets.js";
import { checkAccess } from "./auth.js";
import type { LiveMessage, LiveRun } from "./live-run.js";

/** Scripts and styles from this server only, nothing inline; no frames, forms, or other origins. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  // The URL may carry the access token: never send it on as a referrer, never keep a copy.
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
};

/** How soon a page reconnects after the stream drops (EventSource's `retry`). */
const RECONNECT_MS = 500;
/** A comment line this often keeps idle connections open through proxies. */
const KEEP_ALIVE_MS = 20_000;

/**
 * What a page may leave unread before its stream is closed: it reconnects (EventSource) and starts over
 * from a snapshot, so nothing is lost; a client that stops reading cannot make the server hold every
 * change for it. Three snapshots' worth (a page taking one in while changes arrive is not cut), at
 * least 1 MiB.
 */
const MIN_UNREAD_BYTES = 1 << 20;
const UNREAD_SNAPSHOTS = 3;

interface HandlerOptions {
  assets: Map<string, Asset>;
  live: LiveRun;
  /** Required from every request when set. */
  token: string | null;
  /** The port the server listens on (names the token cookie). */
  port: () => number;
}

/** The server's routes: the page's files and `/events` (Server-Sent Events); read-only, GET and HEAD. */
export function createHandler(options: HandlerOptions) {
  const streams = new Set<ServerResponse>();
  /** The size of the latest snapshot sent, which sets how much a page may leave unread. */
  let snapshotBytes = 0;

  /** One Server-Sent Event: its name is the message kind, its data one line of JSON. */
  const send = (response: ServerResponse, message: LiveMessage) => {
    const event = `event: ${message.kind}\ndata: ${JSON.stringify(message)}\n\n`;
    if (message.kind === "snapshot") snapshotBytes = Buffer.byteLength(event);
    write(response, event);
  };
  const write = (response: ServerResponse, text: string) => {
    response.write(text);
    if (response.writableLength > Math.max(MIN_UNREAD_BYTES, UNREAD_SNAPSHOTS * snapshotBytes)) {
      response.destroy();
    }
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = requestUrl(request.url);
    // A target no URL parser takes (`GET http://[ HTTP/1.1`, sent by hand) is refused, not thrown.
    if (!url) return plain(response, 400, "bad request target\n");
    if (request.method !== "GET" && request.method !== "HEAD") {
      return plain(response, 405, "read-only: GET only\n", { Allow: "GET, HEAD" });
    }
    const access = checkAccess(request, url, options.token, options.port());
    if (!access.ok) return plain(response, access.status, `${access.reason}\n`);
    const cookie = access.setCookie ? { "Set-Cookie": access.setCookie } : {};

    if (url.pathname === "/events") {
      if (request.method === "GET") return openStream(response, cookie);
      response.writeHead(200, {
        ...SECURITY_HEADERS,
        ...cookie,
        "Content-Type": "text/event-stream; charset=utf-8",
      });
      return response.end();
    }
    const asset = options.assets.get(url.pathname);
    if (!asset) return plain(response, 404, "not found\n");
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      ...cookie,
      "Content-Type": asset.type,
      "Content-Length": asset.body.length,
    });
    response.end(request.method === "HEAD" ? undefined : asset.body);
  };

  const openStream = (response: ServerResponse, cookie: Record<string, string>) => {
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      ...cookie,
      "Content-Type": "text/event-stream; charset=utf-8",
      Connection: "keep-alive",
    });
    response.write(`retry: ${RECONNECT_MS}\n\n`);
    // Each connection starts from the whole run, so a page that reconnects recovers everything.
    send(response, options.live.snapshot());
    // A page that connects while the run cannot be read is told so, as the pages already open were.
    const problem = options.live.problem;
    if (problem !== null) send(response, { kind: "problem", message: problem });
    const unlisten = options.live.listen((message) => send(response, message));
    const keepAlive = setInterval(() => write(response, ": keep-alive\n\n"), KEEP_ALIVE_MS);
    streams.add(response);
    response.on("close", () => {
      clearInterval(keepAlive);
      unlisten();
      streams.delete(response);
    });
  };

  /** Ends every open stream, first telling the pages why (`end`): they stop reconnecting. */
  const endStreams = (reason: string | null) => {
    for (const response of streams) {
      if (reason !== null) response.write(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      response.end();
    }
  };

  return { handle, endStreams };
}

function requestUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch {
    return null;
  }
}

function plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  response.writeHead(status, {
    ...SECURITY_HEADERS,
    ...headers,
    "Content-Type": "text/plain; charset=utf-8",
  });
  response.end(text);
}
