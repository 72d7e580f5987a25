import type { AddressInfo } from "node:net";
import { connect, createServer, type Socket } from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of a PostgreSQL server that stops answering after the connection is
 * made, as a frozen host or a network partition does: each connection is passed through (start-up and
 * authentication included) until the client has sent its `freezeAt`-th query (a simple Query, or an
 * extended-protocol Sync), or until freeze(); from then on the server's answers are dropped, and the
 * sockets kept open even when the client ends its side.
 */
export interface FreezingProxy {
  /** The server's URL with the proxy's port in its place. */
  url(serverUrl: string): string;
  /** How many connections it froze. */
  readonly frozen: number;
  /** Freezes every connection, open or new, from now on. */
  freeze(): void;
  /** Connections taken so far, and those whose client has not ended its side yet. */
  readonly accepted: number;
  readonly open: number;
  /** Closes the connections open now, as a dropped link does (the clients see their end). */
  cut(): void;
  close(): Promise<void>;
}

/** The first message of a connection has no type byte; an SSLRequest or GSSENCRequest precedes start-up. */
const NEGOTIATION_CODES = new Set([80877103, 80877104]);

export async function startFreezingProxy(
  serverPort: number,
  freezeAt = Number.POSITIVE_INFINITY,
): Promise<FreezingProxy> {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  let accepted = 0;
  let frozen = 0;
  let all = false;
  // Half-open allowed: a frozen host's socket takes the client's goodbye (FIN) and never answers it.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    accepted += 1;
    clients.add(client);
    // Open while the client keeps its side open (a frozen host keeps its own side open after the client's end).
    for (const event of ["end", "close"]) client.on(event, () => clients.delete(client));
    const upstream = connect({ port: serverPort, host: "127.0.0.1", allowHalfOpen: true });
    let buffered = Buffer.alloc(0);
    let started = false;
    let queries = 0;
    let dropping = false;
    const answering = () => !dropping && !all;
    client.on("end", () => {
      if (answering()) upstream.end();
    });
    upstream.on("end", () => {
      if (answering()) client.end();
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    client.on("data", (data: Buffer) => {
      upstream.write(data);
      buffered = Buffer.concat([buffered, data]);
      // Count the client's messages: the start-up ones are a length and a code, the others a type byte first.
      for (;;) {
        if (!started) {
          if (buffered.length < 8 || buffered.length < buffered.readInt32BE(0)) break;
          if (!NEGOTIATION_CODES.has(buffered.readInt32BE(4))) started = true;
          buffered = buffered.subarray(buffered.readInt32BE(0));
          continue;
        }
        if (buffered.length < 5 || buffered.length < buffered.readInt32BE(1) + 1) break;
        const type = String.fromCharCode(buffered[0]!);
        buffered = buffered.subarray(buffered.readInt32BE(1) + 1);
        if ((type === "Q" || type === "S") && ++queries === freezeAt && !dropping) {
          dropping = true;
          frozen += 1;
        }
      }
    });
    upstream.on("data", (data: Buffer) => {
      if (answering()) client.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (serverUrl) => {
      const url = new URL(serverUrl);
      url.port = String(port);
      return url.toString();
    },
    get frozen() {
      return frozen;
    },
    freeze: () => {
      all = true;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return clients.size;
    },
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
