import { createTokenAuth } from "@octokit/auth-token";
import { request as octokitRequest } from "@octokit/request";
import { GitHubError, UsageError } from "../errors.js";
import { type Clock, systemClock } from "../util/io.js";
import { sleep as sleepFor } from "../util/sleep.js";
import { type Operation, parseFailure, toAttemptFailure, toGitHubError, UnexpectedAnswer } from "./errors.js";
import { createFetch } from "./fetch.js";
import type { ProxySettings } from "./proxy.js";
import { redactSecrets } from "./redact.js";
import { type Budget, withRetries } from "./retry.js";
import type { CallOptions, IssueComment, IssueCommentsClient, RepoRef } from "./types.js";

export interface OctokitClientOptions {
  token: string;
  /** `https://api.github.com`, or a GitHub Enterprise Server's `https://host/api/v3`. */
  apiUrl: string;
  /** Prepended to Octokit's user agent. Default "parallel-progress". */
  userAgent?: string;
  /** HTTPS_PROXY, HTTP_PROXY and NO_PROXY as read by readProxySettings. Default: no proxy. */
  proxy?: ProxySettings | null;
  /** Limit for one HTTP exchange. Default 8000 ms. */
  requestTimeoutMs?: number;
  /** The most one method may take, retries and waits included. Default 10000 ms. */
  totalBudgetMs?: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 8000;
const DEFAULT_TOTAL_BUDGET_MS = 10_000;
/** listComments stops (with an error) beyond this many pages of 100. */
const MAX_COMMENT_PAGES = 1000;

const API_HEADERS = { accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28" };
const noop = (): void => {};
/** Library code never prints: Octokit's deprecation warnings and logs go nowhere. */
const SILENT_LOG = { debug: noop, info: noop, warn: noop, error: noop };

interface RawResponse {
  status: number;
  headers: Record<string, string | number | undefined>;
  data: unknown;
}

/**
 * The IssueCommentsClient on Octokit's request function, with minipass-fetch (createFetch: proxies,
 * timeouts), our retry policy and error mapping.
 *
 * `@octokit/request` with `@octokit/auth-token`, the layers `@octokit/core` is built on, without the
 * class: its hook registry, plugin system and GraphQL client are not used here and cost every CLI call
 * that writes about a millisecond and a half of CPU. Routes, URL templates, headers, authentication and
 * `RequestError`s are Octokit's own.
 */
export function createOctokitClient(options: OctokitClientOptions): IssueCommentsClient {
  const secrets = [options.token];
  const apiUrl = checkApiUrl(options.apiUrl, secrets);
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? sleepFor;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const totalBudgetMs = options.totalBudgetMs ?? DEFAULT_TOTAL_BUDGET_MS;
  const proxy = options.proxy ?? null;
  const octokit = {
    request: octokitRequest.defaults({
      baseUrl: apiUrl,
      headers: {
        "user-agent": `${options.userAgent ?? "parallel-progress"} ${octokitRequest.endpoint.DEFAULTS.headers["user-agent"]}`,
      },
      request: { log: SILENT_LOG, hook: createTokenAuth(options.token).hook },
    }),
  };

  // The method's own budget, cut short by what is left of the caller's (the command's, across its requests).
  const newBudget = (call?: CallOptions): Budget => ({
    deadline: clock.now() + Math.min(totalBudgetMs, Math.max(0, call?.timeoutMs ?? totalBudgetMs)),
    rateLimitRetries: 0,
  });

  /** One request with retries; `read` maps the answer inside the attempt so a bad shape is mapped too. */
  function send<T>(
    op: Operation,
    budget: Budget,
    route: string,
    parameters: Record<string, unknown>,
    read: (response: RawResponse) => T,
  ): Promise<T> {
    return withRetries(
      async (timeoutMs) => {
        const response = await octokit.request(route, {
          ...parameters,
          headers: API_HEADERS,
          request: { fetch: createFetch(proxy, timeoutMs) },
        });
        return read(response as RawResponse);
      },
      {
        method: op.method,
        budget,
        requestTimeoutMs,
        now: () => clock.now(),
        sleep,
        random: Math.random,
        classify: (error, now) => toAttemptFailure(parseFailure(error, now)),
        giveUp: (error, info) =>
          toGitHubError(parseFailure(error, clock.now()), op, info, { apiUrl, secrets, now: clock.now() }),
      },
    );
  }

  return {
    async viewer(call) {
      const op = operation(
        "GET",
        "reading the token's user (GET /user)",
        "the /user endpoint not found",
        "",
        null,
      );
      try {
        return await send(op, newBudget(call), "GET /user", {}, (response) => {
          const login = (response.data as { login?: unknown } | null)?.login;
          if (typeof login !== "string")
            throw new UnexpectedAnswer(`expected a user, got ${shape(response.data)}`);
          return login;
        });
      } catch (error) {
        // GitHub App installation tokens (Actions' GITHUB_TOKEN) cannot read /user.
        if (error instanceof GitHubError && (error.kind === "forbidden" || error.kind === "not-found"))
          return null;
        throw error;
      }
    },

    async listComments(repo, issueNumber, call) {
      const slug = `${repo.owner}/${repo.name}`;
      const op = issueOperation(
        "GET",
        `listing the comments of ${slug}#${issueNumber}`,
        repo,
        issueNumber,
        "",
      );
      const budget = newBudget(call);
      const comments: IssueComment[] = [];
      let route = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments";
      let parameters: Record<string, unknown> = {
        owner: repo.owner,
        repo: repo.name,
        issue_number: issueNumber,
        per_page: 100,
      };
      for (let page = 1; page <= MAX_COMMENT_PAGES; page++) {
        const next = await send(op, budget, route, parameters, (response) => {
          if (!Array.isArray(response.data))
            throw new UnexpectedAnswer(`expected a list of comments, got ${shape(response.data)}`);
          comments.push(...response.data.map(toIssueComment));
          return nextLink(response.headers.link, new URL(apiUrl).origin);
        });
        if (next === null) return comments;
        route = `GET ${next}`;
        parameters = {};
      }
      throw toGitHubError(
        { type: "unexpected-answer", detail: `more than ${MAX_COMMENT_PAGES} pages of comments` },
        op,
        { attempts: 1, outcomeUnknown: false, timeoutMs: requestTimeoutMs, elapsedMs: 0 },
        { apiUrl, secrets, now: clock.now() },
      );
    },

    async createComment(repo, issueNumber, body, call) {
      const doing = `creating a comment on ${repo.owner}/${repo.name}#${issueNumber}`;
      const op = issueOperation("POST", doing, repo, issueNumber, "the comment may have been created");
      const route = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments";
      const parameters = { owner: repo.owner, repo: repo.name, issue_number: issueNumber, body };
      return send(op, newBudget(call), route, parameters, (response) => toIssueComment(response.data));
    },

    async updateComment(repo, commentId, body, call) {
      const op = commentOperation("PATCH", "updating", repo, commentId, "the comment may have been updated");
      const route = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}";
      const parameters = { owner: repo.owner, repo: repo.name, comment_id: commentId, body };
      return send(op, newBudget(call), route, parameters, (response) => toIssueComment(response.data));
    },

    async deleteComment(repo, commentId, call) {
      const op = commentOperation("DELETE", "deleting", repo, commentId, "the comment may have been deleted");
      const route = "DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}";
      const parameters = { owner: repo.owner, repo: repo.name, comment_id: commentId };
      await send(op, newBudget(call), route, parameters, () => undefined);
    },
  };
}

function operation(
  method: string,
  doing: string,
  notFound: string,
  maybeApplied: string,
  repo: string | null,
): Operation {
  return { method, doing, notFound, maybeApplied, repo };
}

function issueOperation(
  method: string,
  doing: string,
  repo: RepoRef,
  issueNumber: number,
  maybeApplied: string,
) {
  const slug = `${repo.owner}/${repo.name}`;
  return operation(
    method,
    doing,
    `issue #${issueNumber} or repository ${slug} not found`,
    maybeApplied,
    slug,
  );
}

function commentOperation(
  method: string,
  verb: string,
  repo: RepoRef,
  commentId: number,
  maybeApplied: string,
) {
  const slug = `${repo.owner}/${repo.name}`;
  const doing = `${verb} comment ${commentId} on ${slug}`;
  return operation(method, doing, `comment ${commentId} or repository ${slug} not found`, maybeApplied, slug);
}

/** GitHub's comment JSON as this product needs it. */
export function toIssueComment(data: unknown): IssueComment {
  const raw = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  const { id, body, created_at: createdAt, html_url: htmlUrl, user } = raw;
  if (typeof id !== "number" || typeof createdAt !== "string") {
    throw new UnexpectedAnswer(`expected a comment, got ${shape(data)}`);
  }
  const { login, id: userId } =
    typeof user === "object" && user !== null ? (user as { login?: unknown; id?: unknown }) : {};
  return {
    id,
    body: typeof body === "string" ? body : "",
    author: typeof login === "string" ? login : null,
    authorId: Number.isSafeInteger(userId) ? (userId as number) : null,
    createdAt,
    htmlUrl: typeof htmlUrl === "string" ? htmlUrl : "",
  };
}

/**
 * The `rel="next"` URL of a Link header, or null. It must stay on the API's origin: the token is sent there.
 */
export function nextLink(link: string | number | undefined, apiOrigin: string): string | null {
  if (typeof link !== "string") return null;
  for (const match of link.matchAll(/<([^>]*)>([^,<]*)/g)) {
    const [, target = "", params = ""] = match;
    if (!/;\s*rel="?[^";]*\bnext\b/i.test(params)) continue;
    let url: URL;
    try {
      url = new URL(target, apiOrigin);
    } catch {
      throw new UnexpectedAnswer(`the Link header's next page is not a URL: ${target}`);
    }
    if (url.origin !== apiOrigin)
      throw new UnexpectedAnswer(`the Link header's next page is on another host: ${url.origin}`);
    return url.href;
  }
  return null;
}

function checkApiUrl(apiUrl: string, secrets: string[]): string {
  let url: URL | null = null;
  try {
    url = new URL(apiUrl);
  } catch {
    url = null;
  }
  if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new UsageError(
      `the GitHub API URL must be an http(s) URL, got "${redactSecrets(apiUrl, secrets)}"`,
    );
  }
  return apiUrl.replace(/\/+$/, "");
}

function shape(data: unknown): string {
  if (Array.isArray(data)) return "a list";
  if (data === null) return "null";
  if (typeof data === "string") return data.trim() === "" ? "an empty body" : "text";
  return typeof data === "object" ? "an object without the expected fields" : typeof data;
}
