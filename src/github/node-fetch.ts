import type * as http from "node:http";
import type * as https from "node:https";

/**
 * A minimal `fetch` on `node:http`/`node:https`, passed to Octokit as `request.fetch`.
 *
 * Why: Node 20's built-in fetch (undici) costs ~85 ms on first use, paid by every CLI call. This covers
 * what Octokit's fetch-wrapper uses: `fetch(url, { method, body, headers, signal, redirect })`, then
 * `status`, `statusText`, `url`, `headers` (iterated and `.get`), `text()`, `arrayBuffer()`.
 * It never touches `globalThis.Response`/`Headers` (they load undici lazily).
 *
 * Differences from the standard: the response body is read in full before the promise resolves (the
 * timeout covers the whole exchange, GitHub's answers are small) and `body` is always null; request bodies
 * are strings or bytes only.
 */

export interface NodeFetchInit {
  method?: string;
  headers?: Record<string, string> | Iterable<readonly [string, string]>;
  body?: string | Uint8Array | null;
  signal?: AbortSignal | null;
  redirect?: "follow" | "error" | "manual";
}

export interface NodeFetchOptions {
  /** Limit for the whole exchange: connecting, sending, redirects and reading the body. Default: none. */
  timeoutMs?: number;
  /** Agents to use; default Node's global agents (keep-alive since Node 19). */
  agents?: { http?: http.Agent; https?: https.Agent };
  /** Largest response body accepted, in bytes. Default 64 MiB. */
  maxResponseBytes?: number;
}

export type NodeFetch = (input: string | URL, init?: NodeFetchInit) => Promise<NodeFetchResponse>;

/**
 * A network failure, shaped like undici's (`TypeError("fetch failed")` with the reason as `cause`),
 * plus what the caller needs to decide whether a write may be resent.
 */
export class NetworkError extends TypeError {
  /** The system error code (ECONNREFUSED, ECONNRESET...), or ETIMEDOUT when the timeout fired. */
  readonly code: string;
  /** True once the request (headers and body) was fully handed to the network: the server may have acted. */
  readonly requestSent: boolean;
  /** True when `timeoutMs` ran out. */
  readonly timedOut: boolean;
  constructor(cause: unknown, details: { code: string; requestSent: boolean; timedOut: boolean }) {
    super("fetch failed", { cause });
    this.code = details.code;
    this.requestSent = details.requestSent;
    this.timedOut = details.timedOut;
  }
}

/** Response headers: lowercase names, iterated sorted by name like the standard Headers. */
export class NodeFetchHeaders implements Iterable<[string, string]> {
  readonly #map = new Map<string, string>();

  constructor(raw: http.IncomingHttpHeaders = {}) {
    for (const [name, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      this.#map.set(name.toLowerCase(), Array.isArray(value) ? value.join(", ") : value);
    }
  }

  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.#map.keys()].sort()) yield [name, this.#map.get(name) ?? ""];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  forEach(callback: (value: string, name: string, headers: NodeFetchHeaders) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

export class NodeFetchResponse {
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: NodeFetchHeaders;
  readonly redirected: boolean;
  /** Always null: the body is buffered; read it with text(), json() or arrayBuffer(). */
  readonly body = null;
  readonly #data: Buffer;
  #used = false;

  constructor(init: {
    status: number;
    statusText: string;
    url: string;
    headers: NodeFetchHeaders;
    redirected: boolean;
    data: Buffer;
  }) {
    this.status = init.status;
    this.statusText = init.statusText;
    this.url = init.url;
    this.headers = init.headers;
    this.redirected = init.redirected;
    this.#data = init.data;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const data = this.#consume();
    const copy = new ArrayBuffer(data.byteLength);
    new Uint8Array(copy).set(data);
    return copy;
  }

  async text(): Promise<string> {
    // As TextDecoder decodes (malformed bytes become U+FFFD, a leading BOM is dropped), through Buffer's
    // own decoder: a TextDecoder's set-up at its first use costs every writing CLI call more.
    const text = this.#consume().toString("utf8");
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  #consume(): Buffer {
    if (this.#used) throw new TypeError("Body is unusable: Body has already been read");
    this.#used = true;
    return this.#data;
  }
}

const MAX_REDIRECTS = 5;
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const CROSS_ORIGIN_DROPPED = ["authorization", "cookie", "proxy-authorization"];

export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  return async (input, init = {}) => {
    const signal = init.signal ?? null;
    if (signal?.aborted) throw abortReason(signal);
    let url = new URL(String(input));
    let method = (init.method ?? "GET").toUpperCase();
    let body = toBuffer(init.body);
    const headers = toHeaderRecord(init.headers);
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    for (let hop = 0; ; hop++) {
      const transport = loadTransport(url.protocol);
      const answer = await exchange(transport, {
        url,
        method,
        headers,
        body,
        signal,
        deadline,
        timeoutMs: options.timeoutMs,
        agent: url.protocol === "https:" ? options.agents?.https : options.agents?.http,
        maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      });
      const location = answer.headers.get("location");
      const redirect = init.redirect ?? "follow";
      if (![301, 302, 303, 307, 308].includes(answer.status) || location === null || redirect === "manual") {
        return new NodeFetchResponse({ ...answer, url: url.href, redirected: hop > 0 });
      }
      if (redirect === "error") throw failure(new Error(`redirected to ${location}`), "ERR_REDIRECT", true);
      if (hop >= MAX_REDIRECTS)
        throw failure(new Error(`more than ${MAX_REDIRECTS} redirects`), "ERR_REDIRECT", true);
      const next = new URL(location, url);
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw failure(new Error(`redirected to unsupported URL ${next.protocol}`), "ERR_REDIRECT", true);
      }
      if (
        ((answer.status === 301 || answer.status === 302) && method === "POST") ||
        (answer.status === 303 && method !== "HEAD")
      ) {
        method = "GET";
        body = undefined;
        delete headers["content-type"];
      }
      if (next.origin !== url.origin) for (const name of CROSS_ORIGIN_DROPPED) delete headers[name];
      url = next;
    }
  };
}

/** The shared instance without a timeout; Octokit's default `request.fetch`. */
export const nodeFetch: NodeFetch = createNodeFetch();

interface Exchange {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  signal: AbortSignal | null;
  deadline: number;
  timeoutMs: number | undefined;
  agent: http.Agent | undefined;
  maxBytes: number;
}

interface Answer {
  status: number;
  statusText: string;
  headers: NodeFetchHeaders;
  data: Buffer;
}

type Transport = Pick<typeof http, "request">;

/**
 * node:http or node:https, loaded when first needed: https pulls in TLS, which an http-only
 * (loopback, GHES behind a proxy) process never needs, and each costs start-up time. Through
 * process.getBuiltinModule (Node 20.16+): no module namespace copy, no promise hop.
 */
function loadTransport(protocol: string): Transport {
  return process.getBuiltinModule(protocol === "https:" ? "node:https" : "node:http");
}

/** One request and its whole response. */
function exchange(transport: Transport, x: Exchange): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let requestSent = false;
    let settled = false;
    const headers: Record<string, string> = { ...x.headers };
    if (x.body !== undefined) headers["content-length"] = String(x.body.byteLength);
    else if (["POST", "PUT", "PATCH"].includes(x.method)) headers["content-length"] = "0";
    const request = transport.request(x.url, {
      method: x.method,
      headers,
      ...(x.agent !== undefined && { agent: x.agent }),
    });

    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      x.signal?.removeEventListener("abort", onAbort);
      return true;
    };
    const fail = (cause: unknown, timedOut = false): void => {
      if (!settle()) return;
      request.destroy();
      const code = timedOut ? "ETIMEDOUT" : errorCode(cause);
      reject(new NetworkError(cause, { code, requestSent, timedOut }));
    };
    const onAbort = (): void => {
      if (!settle()) return;
      request.destroy();
      reject(abortReason(x.signal));
    };
    const remaining = Math.max(0, x.deadline - Date.now());
    const timer = Number.isFinite(remaining)
      ? setTimeout(() => fail(new Error(`no complete answer within ${x.timeoutMs} ms`), true), remaining)
      : undefined;
    x.signal?.addEventListener("abort", onAbort, { once: true });

    request.on("error", (error) => fail(error));
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > x.maxBytes) fail(new Error(`response larger than ${x.maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on("error", (error) => fail(error));
      response.on("close", () => {
        if (!response.complete)
          fail(Object.assign(new Error("connection closed mid-response"), { code: "ECONNRESET" }));
      });
      response.on("end", () => {
        if (!settle()) return;
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? "",
          headers: new NodeFetchHeaders(response.headers),
          data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
        });
      });
    });
    // The callback runs once everything was handed to the socket: from then on the server may act on it.
    request.end(x.body, () => {
      requestSent = true;
    });
  });
}

function failure(cause: Error, code: string, requestSent: boolean): NetworkError {
  return new NetworkError(cause, { code, requestSent, timedOut: false });
}

function errorCode(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "EUNKNOWN";
}

function abortReason(signal: AbortSignal | null): unknown {
  return signal?.reason ?? new DOMException("This operation was aborted", "AbortError");
}

function toBuffer(body: NodeFetchInit["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError(`unsupported request body type: ${typeof body}`);
}

function toHeaderRecord(headers: NodeFetchInit["headers"]): Record<string, string> {
  const record: Record<string, string> = {};
  if (headers === undefined) return record;
  const pairs = Symbol.iterator in headers ? headers : Object.entries(headers);
  for (const [name, value] of pairs) record[name.toLowerCase()] = String(value);
  return record;
}
