import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultInjector } from "./faults.js";
import type { RateLimits } from "./limits.js";
import {
  badCredentials,
  defaultMessage,
  errorReply,
  notFound,
  primaryLimit,
  type Reply,
  secondaryLimit,
} from "./responses.js";
import { resolveRoute } from "./routes.js";
import { dropConnection, readBody, send } from "./server.js";
import type { IssueStore } from "./store.js";
import type { RequestRecord } from "./types.js";
import type { UserDirectory } from "./users.js";

/** What one request goes through, in order: body, latency, hang, faults, auth, core limit, route, write limits. */

export interface HandlerEnv {
  readonly url: string;
  readonly clock: () => number;
  readonly tokens: ReadonlyMap<string, string>;
  readonly store: IssueStore;
  readonly users: UserDirectory;
  readonly limits: RateLimits;
  readonly faults: FaultInjector;
  readonly perPageDefault: number;
  readonly viewerForbidden: boolean;
  readonly secondaryLimitStatus: 403 | 429;
  readonly secondaryRetryAfterSeconds: number;
  readonly closed: boolean;
  log(record: RequestRecord): void;
  recordWrite(login: string, at: number): void;
  countRateLimited(): void;
  /** A timer that the server clears on close (resolves early then). */
  delay(ms: number): Promise<void>;
}

let requestCounter = 0;

export async function handle(env: HandlerEnv, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const path = req.url ?? "/";
  const login = authenticate(env.tokens, req.headers.authorization);
  const record: RequestRecord = { method, path, status: 0, at: env.clock(), user: login, outcome: "pending" };
  env.log(record);
  const requestId = `FAKE:${(++requestCounter).toString(16).toUpperCase()}`;
  const answer = (reply: Reply, user: string | null = login): void => {
    record.status = reply.status;
    record.outcome = "answered";
    // GitHub's Date is on GitHub's clock (the client reads a rate limit's reset against it): the fake's.
    const date = new Date(env.clock()).toUTCString();
    send(res, reply, { ...env.limits.headers(user), "x-github-request-id": requestId, date });
  };

  const read = await readBody(req);
  if (read === undefined) {
    answer({ ...errorReply(413, "Payload Too Large"), headers: { connection: "close" } });
    return;
  }
  const raw: string = read;
  if (env.faults.latencyMs > 0) await env.delay(env.faults.latencyMs);
  await env.faults.waitWhileHanging();
  // The `late` fault: held, then applied whether or not the client still waits (as GitHub finishes a
  // request it received).
  const late = env.faults.holdsLate(method, path) ? env.faults.holdLate() : null;
  const apply = late ? await late.resumed : true;
  if (env.closed || !apply || (res.destroyed && !late)) {
    if (!apply) {
      record.outcome = "dropped";
      dropConnection(req, res);
    }
    late?.done();
    return;
  }
  try {
    respond();
  } finally {
    late?.done();
  }

  function respond(): void {
    const fault = env.faults.decide(method, path);
    if (fault.kind === "drop") {
      record.outcome = "dropped";
      dropConnection(req, res);
      return;
    }
    if (fault.kind === "script") {
      const { status, message = defaultMessage(status), headers = {} } = fault.answer;
      if (status === 429 || (status === 403 && /rate limit/i.test(message))) env.countRateLimited();
      answer({ ...errorReply(status, message), headers: { ...headers } });
      return;
    }
    if (fault.kind === "down") {
      answer(errorReply(503, defaultMessage(503)));
      return;
    }
    if (fault.kind === "failure") {
      answer(errorReply(fault.status, defaultMessage(fault.status)));
      return;
    }

    // GitHub refuses every request without a User-Agent, before anything else.
    if (!req.headers["user-agent"]) {
      answer(
        errorReply(
          403,
          "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
          "https://docs.github.com/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent",
        ),
      );
      return;
    }
    if (login === null) {
      env.limits.consumeCore(null);
      answer(badCredentials());
      return;
    }
    if (!env.limits.consumeCore(login)) {
      env.countRateLimited();
      answer(primaryLimit(env.users.idOf(login)));
      return;
    }
    const url = new URL(path, env.url);
    const route = resolveRoute(method, url.pathname);
    if (!route) {
      answer(notFound());
      return;
    }
    if (route.write && !env.limits.admitsWrite(login)) {
      env.countRateLimited();
      answer(secondaryLimit(env.secondaryLimitStatus, env.secondaryRetryAfterSeconds, requestId));
      return;
    }
    const now = env.clock();
    const reply = route.run({
      url,
      body: raw,
      login,
      now,
      apiUrl: env.url,
      store: env.store,
      users: env.users,
      perPageDefault: env.perPageDefault,
      viewerForbidden: env.viewerForbidden,
    });
    const accepted = reply.status >= 200 && reply.status < 300;
    if (route.write && accepted) env.recordWrite(login, now);
    if (route.creates && accepted && env.faults.takeLostCreate()) {
      record.status = reply.status;
      record.outcome = "lost";
      dropConnection(req, res);
      return;
    }
    answer(reply);
  }
}

/** The login behind `Authorization: token X` or `Bearer X`, or null. */
function authenticate(tokens: ReadonlyMap<string, string>, header: string | undefined): string | null {
  const match = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1] === undefined ? null : (tokens.get(match[1]) ?? null);
}
