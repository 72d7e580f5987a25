import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import { afterEach } from "vitest";

/** A request as a loopback test server received it. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (request: Received, response: ServerResponse, base: string) => void;

/**
 * Small HTTP servers on 127.0.0.1 for client tests, closed (with their connections) after each test.
 * `serve(...handlers)` answers the requests in turn with the handlers given (the last one repeats) and
 * records every request it received.
 */
export function useLoopbackServers() {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  return async function serve(...handlers: Handler[]): Promise<{ url: string; received: Received[] }> {
    const received: Received[] = [];
    let base = "";
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const request = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        received.push(request);
        handlers[Math.min(received.length, handlers.length) - 1]?.(request, res, base);
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url: base, received };
  };
}

/** A port on 127.0.0.1 that nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A TCP server on 127.0.0.1 that takes connections, reads what comes and never answers (a stuck proxy):
 * `accepted` counts the connections, `open` holds those not closed yet; `close` ends them and the server.
 */
export async function silentServer(): Promise<{
  port: number;
  accepted: () => number;
  open: Set<Socket>;
  close: () => Promise<void>;
}> {
  const open = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted += 1;
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => undefined);
    socket.resume(); // read (and ignore) what comes, so that the client's hanging up is seen
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    open,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
