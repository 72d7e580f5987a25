import { escapeInvisible } from "../config/show-value.js";
import { GitHubError, type GitHubErrorKind } from "../errors.js";
import { truncateCodePoints } from "../render/text.js";
import { NetworkError } from "./network-error.js";
import { parseRateLimit, type RateLimit } from "./rate-limit.js";
import { redactSecrets } from "./redact.js";
import type { AttemptFailure, GiveUpInfo } from "./retry.js";

/**
 * The adapter boundary: Octokit's RequestError and network errors become GitHubError, with a one-line
 * message saying what failed and how to fix it, and a sanitised cause (never a token, an Authorization
 * header or Octokit's request object).
 */

/** What a client method was doing, for messages. */
export interface Operation {
  method: string;
  /** "creating a comment on acme/widgets#123" */
  doing: string;
  /** What a 404 means here: "issue #123 or repository acme/widgets not found". */
  notFound: string;
  /** Said when a write may have landed: "the comment may have been created". */
  maybeApplied: string;
  /** "acme/widgets", for advice; null when no repository is involved. */
  repo: string | null;
}

/** One failed attempt, parsed. */
export type Failure =
  | {
      type: "http";
      status: number;
      /** GitHub's message (with validation errors), one line. */
      message: string;
      requestId: string | null;
      rateLimit: RateLimit | null;
      /** The answer was a web page (HTML): not GitHub's API, which answers errors in JSON. */
      webPage?: boolean;
    }
  | {
      type: "network";
      code: string;
      detail: string;
      requestSent: boolean;
      timedOut: boolean;
      /** The proxy the request went through ("http://proxy:3128 (HTTPS_PROXY)"), or null. */
      proxy: string | null;
      /** The name that did not resolve is the proxy's (see NetworkError). */
      proxyUnresolved?: boolean;
    }
  /** An answer that is not what the API documents (a proxy's HTML page...). */
  | { type: "unexpected-answer"; detail: string }
  /** Anything else thrown while talking to GitHub (a header Octokit cannot parse...). */
  | { type: "other"; name: string; detail: string; stack: string | undefined };

/** Thrown inside the client when a successful answer has the wrong shape. */
export class UnexpectedAnswer extends Error {
  override name = "UnexpectedAnswer";
}

/** Network failures worth another try; others (unknown host, bad certificate) will not go away. */
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
]);

export function parseFailure(error: unknown, now: number): Failure {
  if (error instanceof UnexpectedAnswer) return { type: "unexpected-answer", detail: error.message };
  const network = error instanceof NetworkError ? error : causeOf(error);
  if (network) {
    return {
      type: "network",
      code: network.code,
      detail: describeCause(network.cause),
      requestSent: network.requestSent,
      timedOut: network.timedOut,
      proxy: network.proxy,
      proxyUnresolved: network.proxyUnresolved,
    };
  }
  if (isRequestError(error)) {
    const headers = error.response.headers ?? {};
    const { data } = error.response;
    const message = gitHubMessage(data, error.message);
    return {
      type: "http",
      status: error.status,
      message,
      webPage: typeof data === "string" && /^\s*</.test(data),
      requestId: typeof headers["x-github-request-id"] === "string" ? headers["x-github-request-id"] : null,
      rateLimit: parseRateLimit(error.status, headers, message, now),
    };
  }
  const other = error instanceof Error ? error : new Error(String(error));
  return { type: "other", name: other.name, detail: oneLine(other.message), stack: other.stack };
}

/** How the retry policy sees a failure. */
export function toAttemptFailure(failure: Failure): AttemptFailure {
  if (failure.type === "http") {
    if (failure.rateLimit) return { type: "rate-limit", retryAt: failure.rateLimit.retryAt };
    return failure.status >= 500 ? { type: "transient", mayHaveApplied: true } : { type: "final" };
  }
  if (failure.type === "network" && (failure.timedOut || RETRYABLE_CODES.has(failure.code))) {
    return { type: "transient", mayHaveApplied: failure.requestSent };
  }
  return { type: "final" };
}

interface ErrorContext {
  apiUrl: string;
  secrets: readonly string[];
  now: number;
}

/** The error a client method throws once the retry policy gave up. */
export function toGitHubError(
  failure: Failure,
  op: Operation,
  info: GiveUpInfo,
  context: ErrorContext,
): GitHubError {
  const redact = (text: string) => redactSecrets(text, context.secrets);
  const explained = explain(failure, op, info, context);
  let advice = explained.advice;
  if (info.outcomeUnknown) {
    const unsent = op.method === "POST" ? ", so it was not sent again" : "";
    advice = `${op.maybeApplied}${unsent}${advice ? `; ${advice}` : ""}`;
  }
  const tries = info.attempts > 1 ? ` after ${info.attempts} attempts` : "";
  const message = oneLine(`${op.doing} failed${tries}: ${explained.problem}${advice ? `: ${advice}` : ""}`);
  return new GitHubError(
    redact(message),
    {
      kind: explained.kind,
      status: failure.type === "http" ? failure.status : null,
      retryAt: failure.type === "http" ? (failure.rateLimit?.retryAt ?? null) : null,
      outcomeUnknown: info.outcomeUnknown,
    },
    { cause: sanitisedCause(failure, redact) },
  );
}

interface Explained {
  kind: GitHubErrorKind;
  problem: string;
  advice: string;
}

function explain(failure: Failure, op: Operation, info: GiveUpInfo, context: ErrorContext): Explained {
  const where = apiOrigin(context.apiUrl);
  if (failure.type === "unexpected-answer") {
    return {
      kind: "server",
      problem: `GitHub answered unexpectedly (${failure.detail})`,
      advice: `check that ${where} is a GitHub API URL`,
    };
  }
  if (failure.type === "network") return explainNetwork(failure, info, where);
  if (failure.type === "other") {
    return {
      kind: "server",
      problem: `unexpected error talking to ${where} (${failure.name}: ${failure.detail})`,
      advice: "",
    };
  }
  const { status, message } = failure;
  if (failure.rateLimit) {
    const { retryAt, reason } = failure.rateLimit;
    const seconds = Math.max(0, Math.ceil((retryAt - context.now) / 1000));
    return {
      kind: "rate-limited",
      problem: `GitHub rate limit reached (${status}, ${reason})`,
      advice: `try again after ${new Date(retryAt).toISOString()} (in ${seconds}s)`,
    };
  }
  // Only a proxy answers 407 (an http:// API URL goes through it as plain requests; https:// tunnels fail
  // in the network path above), and its page says nothing about GitHub.
  if (status === 407) {
    return {
      kind: "auth",
      problem: "the HTTP proxy asked for credentials (407 Proxy Authentication Required)",
      advice:
        "check the user and password of the proxy URL (HTTP_PROXY, HTTPS_PROXY: http://user:password@host:port)",
    };
  }
  const explained = explainStatus(status, message, op, info);
  if (failure.webPage && status < 500) {
    // github.com itself, or a GitHub Enterprise Server's web host (without /api/v3): its pages say 404.
    return {
      kind: explained.kind,
      problem: `${where} answered ${status} with a web page, not as GitHub's API does`,
      advice:
        "check the API URL (--api-url, GITHUB_API_URL): https://api.github.com, or https://HOST/api/v3 for a GitHub Enterprise Server",
    };
  }
  return explained;
}

/** An HTTP error answer that is not a rate limit, by its status. */
function explainStatus(status: number, message: string, op: Operation, info: GiveUpInfo): Explained {
  const said = message ? `${status} ${message}` : `${status}`;
  if (status === 401) {
    return {
      kind: "auth",
      problem: `GitHub rejected the token (401 ${message || "Bad credentials"})`,
      advice: "set GITHUB_TOKEN or GH_TOKEN to a valid token with issues:write",
    };
  }
  if (status === 403)
    return { kind: "forbidden", problem: `GitHub refused (${said})`, advice: forbiddenAdvice(message, op) };
  if (status === 410) {
    // Gone, and GitHub says why (the issue deleted, issues turned off): not a matter of the token's access.
    const repo = op.repo ?? "the repository";
    return {
      kind: "not-found",
      problem: `GitHub says it is gone (${said})`,
      advice: /disabled/i.test(message)
        ? `issues are turned off for ${repo}: turn them on in its settings, or track an issue elsewhere`
        : "track another issue (--issue)",
    };
  }
  if (status === 404) {
    return {
      kind: "not-found",
      problem: `${op.notFound}, or the token cannot see it (${status})`,
      advice: "check the repository and issue number, and that the token has access to the repository",
    };
  }
  if (status >= 500) {
    return {
      kind: "server",
      problem: `GitHub had a server error (${said})`,
      advice: info.outcomeUnknown ? "" : "try again later",
    };
  }
  return { kind: "validation", problem: `GitHub rejected the request (${said})`, advice: "" };
}

function explainNetwork(
  failure: Extract<Failure, { type: "network" }>,
  info: GiveUpInfo,
  where: string,
): Explained {
  const { code, proxy } = failure;
  if (code === "ERR_PROXY_URL") {
    return {
      kind: "network",
      problem: failure.detail,
      advice: "set it to http://host:port (or unset it, or list the host in NO_PROXY)",
    };
  }
  // Through a proxy, a refused or failed connection may be the proxy's: name it.
  const through = proxy === null ? "" : ` through the proxy ${proxy}`;
  if (code === "ERR_ANSWER_TOO_LARGE") {
    return {
      kind: "server",
      problem: `${where}${through} answered with more than GitHub sends (${failure.detail})`,
      advice: `check that ${where} is a GitHub API URL`,
    };
  }
  const check =
    proxy === null
      ? "check the network and the API URL (--api-url, GITHUB_API_URL)"
      : "check the proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), the network and the API URL";
  if (failure.timedOut && !failure.requestSent && proxy !== null) {
    // The CONNECT tunnel or the SOCKS handshake never came up: nothing went to GitHub (retried as refused).
    return {
      kind: "timeout",
      problem: `the proxy ${proxy} did not open a connection to ${where} within ${seconds(Math.max(info.elapsedMs, info.timeoutMs))}`,
      advice: info.outcomeUnknown ? "" : check,
    };
  }
  if (failure.timedOut) {
    return {
      kind: "timeout",
      // The time waited in all (every attempt and the pauses between), not the last attempt's timeout.
      problem: `GitHub did not answer within ${seconds(Math.max(info.elapsedMs, info.timeoutMs))}${through}`,
      advice: info.outcomeUnknown ? "" : "try again later",
    };
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return {
      kind: "network",
      problem: failure.proxyUnresolved
        ? `could not resolve the host of the proxy ${proxy} (${code})`
        : `could not resolve the host of ${where}${through} (${code})`,
      advice: check,
    };
  }
  if (code === "ECONNREFUSED")
    return {
      kind: "network",
      problem: `could not connect to ${where}${through} (ECONNREFUSED)`,
      advice: check,
    };
  if (/CERT|SSL|TLS|UNABLE_TO_VERIFY/i.test(code)) {
    return {
      kind: "network",
      problem: `the TLS certificate of ${where} was not accepted (${code})`,
      advice: "for a GitHub Enterprise Server with a private CA, set NODE_EXTRA_CA_CERTS",
    };
  }
  if (failure.requestSent) {
    return {
      kind: "network",
      problem: `the connection to ${where}${through} was lost before GitHub answered (${code})`,
      advice: "",
    };
  }
  return {
    kind: "network",
    problem: `network error talking to ${where}${through} (${code}: ${failure.detail})`,
    advice: check,
  };
}

function forbiddenAdvice(message: string, op: Operation): string {
  const repo = op.repo ?? "the repository";
  if (/not accessible by/i.test(message)) {
    return 'the token lacks permission: give it issues: write (in a workflow: "permissions: issues: write")';
  }
  if (/locked/i.test(message))
    return `the issue is locked: unlock it, or use a token with write access to ${repo}`;
  if (/archived/i.test(message))
    return `${repo} is archived and read-only: unarchive it or track another issue`;
  return `check that the token may write issues on ${repo}`;
}

/** A fresh, flat cause carrying only what helps debugging. */
function sanitisedCause(failure: Failure, redact: (text: string) => string): Error {
  if (failure.type === "http") {
    const cause = new Error(redact(`${failure.status} ${failure.message}`));
    cause.name = "HttpError";
    return Object.assign(cause, { status: failure.status, requestId: failure.requestId });
  }
  if (failure.type === "network") {
    const cause = new Error(redact(failure.detail));
    cause.name = "NetworkError";
    return Object.assign(cause, {
      code: failure.code,
      requestSent: failure.requestSent,
      timedOut: failure.timedOut,
      proxy: failure.proxy,
    });
  }
  const cause = new Error(redact(failure.detail));
  cause.name = failure.type === "other" ? failure.name : "UnexpectedAnswer";
  if (failure.type === "other" && failure.stack !== undefined) cause.stack = redact(failure.stack);
  return cause;
}

interface RequestErrorLike {
  status: number;
  message: string;
  response: { headers?: Record<string, string>; data?: unknown };
}

/** Octokit's RequestError with a response (duck-typed: no import of @octokit/request-error). */
function isRequestError(error: unknown): error is RequestErrorLike {
  if (!(error instanceof Error) || error.name !== "HttpError") return false;
  const { status, response } = error as Partial<RequestErrorLike>;
  return typeof status === "number" && typeof response === "object" && response !== null;
}

/** Octokit wraps fetch's TypeError into a RequestError (status 500, no response) with it as `cause`. */
function causeOf(error: unknown): NetworkError | null {
  return error instanceof Error && error.cause instanceof NetworkError ? error.cause : null;
}

/** GitHub's `message`, plus the validation errors' own messages; else the text body; "" for HTML. */
function gitHubMessage(data: unknown, fallback: string): string {
  if (
    typeof data === "object" &&
    data !== null &&
    typeof (data as { message?: unknown }).message === "string"
  ) {
    const { message, errors } = data as { message: string; errors?: unknown };
    const details = Array.isArray(errors) ? errors.map(validationDetail).filter((d) => d !== "") : [];
    return oneLine(details.length > 0 ? `${message}: ${details.join("; ")}` : message);
  }
  // An HTML page (a proxy's or a load balancer's) says nothing more than the status.
  if (typeof data === "string") return /^\s*</.test(data) ? "" : truncateCodePoints(oneLine(data), 300);
  return data === undefined
    ? truncateCodePoints(oneLine(fallback.replace(/ - https:\/\/docs\.github\.com\S*$/, "")), 300)
    : "";
}

function validationDetail(item: unknown): string {
  if (typeof item === "string") return item;
  if (typeof item !== "object" || item === null) return "";
  const { message, field, code } = item as { message?: unknown; field?: unknown; code?: unknown };
  if (typeof message === "string") return message;
  return [field, code].filter((part) => typeof part === "string").join(" ");
}

function describeCause(cause: unknown): string {
  return oneLine(cause instanceof Error ? cause.message : String(cause));
}

function apiOrigin(apiUrl: string): string {
  try {
    const url = new URL(apiUrl);
    return `${url.origin}${url.pathname.replace(/\/$/, "")}`;
  } catch {
    return "the GitHub API";
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/**
 * One line, and inert: GitHub's words (or a proxy's) are someone else's text, so control characters are
 * escaped (`\u001b`), never sent raw to a terminal; nor a NUL to the run state, which PostgreSQL cannot store.
 */
function oneLine(text: string): string {
  return escapeInvisible(text.replace(/\s+/g, " ").trim());
}
