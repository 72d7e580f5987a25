import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { UsageError } from "../errors.js";
import { loadAssets } from "./assets.js";
import { generateToken, isLoopbackHost } from "./auth.js";
import { createHandler } from "./http.js";
import { LiveRun, type RunSource } from "./live-run.js";

const DEFAULT_HOST = "127.0.0.1";

interface ServeOptions {
  source: RunSource;
  /** The folder with the page's files (`web/`). */
  assetsDir: string;
  host?: string;
  /** 0: any free port. */
  port: number;
  /** The access token; generated when none is given and the host is not loopback. */
  token?: string | null;
  now?: () => number;
}

export interface LiveServer {
  /** The URL to open, with the token when one is needed. */
  url: string;
  port: number;
  token: string | null;
  live: LiveRun;
  /** Ends the pages' streams (telling them why, when a reason is given) and stops the server. */
  close(reason?: string | null): Promise<void>;
}

/** The token a server on `host` requires: the one given, else one generated when the host is not loopback. */
export function accessToken(host: string, given: string | null | undefined): string | null {
  return given ?? (isLoopbackHost(host) ? null : generateToken());
}

/** Starts the live view: reads the run, listens to the store, and serves the page on `host:port`. */
export async function startLiveServer(options: ServeOptions): Promise<LiveServer> {
  const host = options.host ?? DEFAULT_HOST;
  const token = accessToken(host, options.token);
  const assets = await loadAssets(options.assetsDir);
  const live = new LiveRun(options.source, options.now);
  await live.start();

  let port = options.port;
  const { handle, endStreams } = createHandler({ assets, live, token, port: () => port });
  const server = createServer(handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await live.stop();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UsageError(`port ${options.port} is in use: pass another --port`);
    // EINVAL: an address no socket of this machine can take (an IPv6 link-local one, whose zone a URL
    // cannot carry).
    if (code === "EADDRNOTAVAIL" || code === "EINVAL" || code === "ENOTFOUND" || code === "EAI_AGAIN") {
      throw new UsageError(`--host must be an address of this machine, got "${host}"`, { cause: error });
    }
    throw error;
  }
  const bound = server.address() as AddressInfo;
  port = bound.port;

  return {
    // A host that means every address (`0`, `::0`) is shown as the wildcard it is.
    url: pageUrl(WILDCARDS.has(bound.address) ? bound.address : host, port, token),
    port,
    token,
    live,
    close: async (reason = null) => {
      endStreams(reason);
      await live.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The addresses that mean every address of the machine. */
const WILDCARDS = new Set(["0.0.0.0", "::", "::ffff:0.0.0.0"]);

/** `http://127.0.0.1:7420/`; a wildcard address is shown as this machine's name, for others to open. */
export function pageUrl(host: string, port: number, token: string | null): string {
  const name = WILDCARDS.has(host) ? hostname() : host;
  const url = new URL(`http://${name.includes(":") ? `[${name}]` : name}:${port}/`);
  if (token !== null) url.searchParams.set("token", token);
  return url.href;
}
