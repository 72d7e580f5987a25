import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Reply } from "./responses.js";

/** HTTP plumbing: listen on 127.0.0.1 only (https with `tls`), track every socket, read bodies, send JSON. */

export const HOST = "127.0.0.1";
/** A request body larger than this is refused with 413 (65,536 UTF-16 units are at most ~192 KiB of UTF-8). */
const MAX_REQUEST_BYTES = 1_048_576;

export interface Listening {
  url: string;
  /** Stops listening and destroys every socket, idle keep-alive and hung ones included. */
  close(): Promise<void>;
}

export async function listen(
  port: number,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { key: string; cert: string },
): Promise<Listening> {
  const sockets = new Set<Socket>();
  const server = tls
    ? createTlsServer({ keepAliveTimeout: 5_000, ...tls }, handler)
    : createServer({ keepAliveTimeout: 5_000 }, handler);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port: actual } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `${tls ? "https" : "http"}://${HOST}:${actual}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The request body as text, or undefined when it is too large or the client went away. */
export function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: string | undefined) => {
      if (done) return;
      done = true;
      resolve(value);
    };
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        finish(undefined);
        return;
      }
      if (!done) chunks.push(chunk);
    });
    req.on("end", () => finish(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => finish(undefined));
    req.on("aborted", () => finish(undefined));
  });
}

export function send(res: ServerResponse, reply: Reply, headers: Record<string, string>): void {
  if (res.destroyed || res.writableEnded) return;
  const payload = reply.body === undefined || reply.status === 204 ? "" : JSON.stringify(reply.body);
  const all: Record<string, string> = {
    ...headers,
    ...(payload === "" ? {} : { "content-type": "application/json; charset=utf-8" }),
    "content-length": String(Buffer.byteLength(payload)),
    ...reply.headers,
  };
  res.writeHead(reply.status, all);
  res.end(payload);
}

/** Ends the exchange without an answer, as a dropped connection does. */
export function dropConnection(req: IncomingMessage, res: ServerResponse): void {
  res.destroy();
  req.socket.destroy();
}
