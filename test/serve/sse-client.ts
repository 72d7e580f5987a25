import { type ClientRequest, get, type IncomingMessage } from "node:http";

/** One Server-Sent Event as received. */
export interface ReceivedEvent {
  event: string;
  data: unknown;
}

/** A test's connection to `/events`: the events received so far, and a bounded wait for the next ones. */
export interface EventStream {
  response: IncomingMessage;
  events: ReceivedEvent[];
  /** Resolves with the first received event (counting from `from`) that `match` accepts; rejects after `timeoutMs`. */
  next(match: (event: ReceivedEvent) => boolean, from?: number, timeoutMs?: number): Promise<ReceivedEvent>;
  ended: Promise<void>;
  close(): void;
}

export function openEvents(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    let request: ClientRequest;
    const waiters = new Set<() => void>();
    request = get(url, { headers: { Accept: "text/event-stream", ...headers } }, (response) => {
      const events: ReceivedEvent[] = [];
      let buffer = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name && data !== undefined) events.push({ event: name, data: JSON.parse(data) });
          end = buffer.indexOf("\n\n");
        }
        for (const wake of waiters) wake();
      });
      const ended = new Promise<void>((done) => response.on("close", () => done()));
      resolve({
        response,
        events,
        ended,
        close: () => request.destroy(),
        next: (match, from = 0, timeoutMs = 5000) =>
          new Promise((found, fail) => {
            const look = () => {
              const hit = events.slice(from).find(match);
              if (!hit) return;
              cleanup();
              found(hit);
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(
                new Error(
                  `no matching event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.event))}`,
                ),
              );
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(look);
            };
            waiters.add(look);
            look();
          }),
      });
    });
    request.on("error", reject);
  });
}
