import { STATUS_CODES } from "node:http";

/** GitHub's error bodies and messages, as the REST API sends them. */

export const DOCS = "https://docs.github.com/rest";
export const RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function errorReply(status: number, message: string, documentationUrl = DOCS): Reply {
  return { status, body: { message, documentation_url: documentationUrl, status: String(status) } };
}

export const badCredentials = (): Reply => errorReply(401, "Bad credentials");

export const notFound = (documentationUrl = DOCS): Reply => errorReply(404, "Not Found", documentationUrl);

export function primaryLimit(userId: number): Reply {
  return errorReply(403, `API rate limit exceeded for user ID ${userId}.`, RATE_LIMIT_DOCS);
}

export function secondaryLimit(status: 403 | 429, retryAfterSeconds: number, requestId: string): Reply {
  const message =
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
    `If you reach out to GitHub Support for help, please include the request ID ${requestId}.`;
  return {
    ...errorReply(status, message, `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`),
    headers: { "retry-after": String(retryAfterSeconds) },
  };
}

export function validationFailed(code: "missing_field" | "custom", message?: string): Reply {
  const error: Record<string, string> = { resource: "IssueComment", code, field: "body" };
  if (message !== undefined) error.message = message;
  return {
    status: 422,
    body: { message: "Validation Failed", errors: [error], documentation_url: DOCS, status: "422" },
  };
}

const DEFAULT_MESSAGES: Record<number, string> = {
  400: "Problems parsing JSON",
  401: "Bad credentials",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  422: "Validation Failed",
  429: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
  500: "Server Error",
  502: "Server Error",
  503: "Service Unavailable",
};

export function defaultMessage(status: number): string {
  return DEFAULT_MESSAGES[status] ?? STATUS_CODES[status] ?? "Error";
}

/** GitHub's timestamps: ISO 8601, whole seconds, `Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
