/** The part of minipass-fetch (npm's fetch on node:http, no types of its own) this client uses. */
declare module "minipass-fetch" {
  import type { Agent } from "node:http";

  interface Headers extends Iterable<[string, string]> {
    get(name: string): string | null;
  }

  interface ResponseInit {
    url?: string;
    status?: number;
    statusText?: string;
    headers?: Headers;
  }

  class Response {
    constructor(body?: Buffer | null, init?: ResponseInit);
    readonly url: string;
    readonly status: number;
    readonly statusText: string;
    readonly headers: Headers;
    /** A Minipass stream of the answer's bytes (null for a Response made without a body). */
    readonly body: (AsyncIterable<Buffer> & { on(event: "error", listener: () => void): unknown }) | null;
    buffer(): Promise<Buffer>;
    arrayBuffer(): Promise<ArrayBuffer>;
    text(): Promise<string>;
    json(): Promise<unknown>;
  }

  interface FetchOptions {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer | null;
    signal?: AbortSignal;
    redirect?: "follow" | "manual" | "error";
    agent?: Agent;
  }

  function fetch(url: string, options?: FetchOptions): Promise<Response>;
  namespace fetch {
    export { Response };
    export function isRedirect(status: number): boolean;
  }
  export = fetch;
}
