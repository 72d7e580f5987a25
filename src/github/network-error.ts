/**
 * A network failure, shaped like Node's fetch's own (`TypeError("fetch failed")` with the reason as `cause`),
 * plus what the retry policy needs to decide whether a write may be resent.
 */
export class NetworkError extends TypeError {
  /** The system error code (ECONNREFUSED, ECONNRESET...), ETIMEDOUT when the timeout fired. */
  readonly code: string;
  /** False only when the request surely never reached the server (it failed while connecting). */
  readonly requestSent: boolean;
  /** True when the request's time ran out. */
  readonly timedOut: boolean;
  /** The proxy it went through, for messages: "http://proxy:3128 (HTTPS_PROXY)", never a password. */
  readonly proxy: string | null;
  /** The name that did not resolve (ENOTFOUND, EAI_AGAIN) is the proxy's, not the API's. */
  readonly proxyUnresolved: boolean;
  constructor(
    cause: unknown,
    details: {
      code: string;
      requestSent: boolean;
      timedOut: boolean;
      proxy?: string | null;
      proxyUnresolved?: boolean;
    },
  ) {
    super("fetch failed", { cause });
    this.code = details.code;
    this.requestSent = details.requestSent;
    this.timedOut = details.timedOut;
    this.proxy = details.proxy ?? null;
    this.proxyUnresolved = details.proxyUnresolved ?? false;
  }
}

/** How a proxy variable is named in messages: its origin (no user or password) and the variable. */
export function describeProxy(variable: { name: string; value: string } | null): string | null {
  if (variable === null) return null;
  const url = proxyUrlOf(variable);
  return url === null ? variable.name : `${url.protocol}//${url.host} (${variable.name})`;
}

/** The proxy variable's URL (`host:port` is http://host:port), or null when it is none. */
function proxyUrlOf(variable: { value: string }): URL | null {
  try {
    return new URL(variable.value.includes("://") ? variable.value : `http://${variable.value}`);
  } catch {
    return null;
  }
}

/**
 * Whether a name that did not resolve is the proxy's: an http:// proxy resolves the API's name itself, but
 * socks5:// has it resolved here, so the name that failed is compared (Node's `hostname`, else the one
 * its message names: the socks library keeps only the message).
 */
function proxyNameFailed(error: unknown, code: string, via: { value: string } | null): boolean {
  if (via === null || (code !== "ENOTFOUND" && code !== "EAI_AGAIN")) return false;
  const proxyHost = proxyUrlOf(via)?.hostname.toLowerCase();
  let current = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const { hostname } = current as { hostname?: unknown };
    const name =
      typeof hostname === "string" ? hostname : /\b(?:ENOTFOUND|EAI_AGAIN) (\S+)/.exec(current.message)?.[1];
    if (name !== undefined) return name.toLowerCase() === proxyHost;
    current = current.cause;
  }
  return false;
}

/**
 * Failures that happen before a byte of the request is sent: the name did not resolve, nothing listens,
 * no route, the certificate was refused, the proxy refused the tunnel. Any other failure may come after
 * the server read the request, so a write that failed so is never resent blindly.
 */
const BEFORE_SENDING =
  /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENETUNREACH|ENETDOWN|EHOSTUNREACH|ERR_PROXY.*|ERR_TLS.*|.*CERT.*|UNABLE_TO_.*|ERR_SSL.*)$/;

/** Whether a failure of this code surely sent nothing (see BEFORE_SENDING). */
export function sentNothing(code: string): boolean {
  return BEFORE_SENDING.test(code);
}

/** minipass-fetch's FetchError puts the URL before the system error's message: the message alone is kept. */
const FETCH_ERROR_PREFIX =
  /^(request to \S+ failed, reason|Invalid response body while trying to fetch \S+): /;

/**
 * A failed fetch as a NetworkError: its deepest cause, that cause's code (a system code, which
 * minipass-fetch's FetchError copies; `ERR_FETCH_<TYPE>` for one of its own, a bad redirect...), and
 * whether it may have been sent.
 */
export function toNetworkError(error: unknown, via: { name: string; value: string } | null): NetworkError {
  if (error instanceof NetworkError) return error;
  let cause = rootCause(error);
  let code = codeOf(cause) ?? codeOf(error) ?? "EUNKNOWN";
  if (code === "FETCH_ERROR") {
    const type = (cause as { type?: unknown }).type;
    code = `ERR_FETCH_${String(type).toUpperCase().replaceAll("-", "_")}`;
  }
  if (cause instanceof Error && FETCH_ERROR_PREFIX.test(cause.message)) {
    cause = Object.assign(new Error(cause.message.replace(FETCH_ERROR_PREFIX, ""), { cause }), { code });
  }
  return new NetworkError(cause, {
    code,
    requestSent: !sentNothing(code),
    timedOut: false,
    proxy: describeProxy(via),
    proxyUnresolved: proxyNameFailed(error, code, via),
  });
}

/**
 * The timeout's failure: the request may have been read by the server, unless it was never `connected`
 * (a proxy's tunnel or handshake still pending): then it was sent nowhere.
 */
export function timeoutError(
  timeoutMs: number,
  via: { name: string; value: string } | null,
  connected = true,
): NetworkError {
  const what = connected ? "no complete answer" : "no connection through the proxy";
  return new NetworkError(new Error(`${what} within ${timeoutMs} ms`), {
    code: "ETIMEDOUT",
    requestSent: connected,
    timedOut: true,
    proxy: describeProxy(via),
  });
}

/** An error may wrap the real reason; an AggregateError (one per address tried) holds the first. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    if (current instanceof AggregateError && current.errors.length > 0 && codeOf(current) === undefined) {
      current = current.errors[0];
      continue;
    }
    if (current instanceof Error && current.cause !== undefined && codeOf(current) === undefined) {
      current = current.cause;
      continue;
    }
    break;
  }
  return current;
}

export function codeOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}
