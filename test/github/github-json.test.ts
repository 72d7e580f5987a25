import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { parseFailure, toGitHubError, UnexpectedAnswer } from "../../src/github/errors.js";
import { nextLink, toIssueComment } from "../../src/github/octokit-client.js";

describe("nextLink", () => {
  const api = "https://api.github.com";
  it("finds rel=next among the links", () => {
    const link =
      '<https://api.github.com/repositories/1/issues/2/comments?page=1>; rel="prev", <https://api.github.com/repositories/1/issues/2/comments?page=3>; rel="next", <https://api.github.com/x?page=9>; rel="last"';
    expect(nextLink(link, api)).toBe("https://api.github.com/repositories/1/issues/2/comments?page=3");
    expect(nextLink('<https://api.github.com/x?page=9>; rel="last"', api)).toBeNull();
    expect(nextLink(undefined, api)).toBeNull();
  });

  it("refuses a next page on another origin", () => {
    expect(() => nextLink('<https://evil.example/x>; rel="next"', api)).toThrow(UnexpectedAnswer);
  });
});

describe("toIssueComment", () => {
  it("maps GitHub's JSON, a deleted user to null and a missing body to empty", () => {
    expect(
      toIssueComment({ id: 3, body: null, user: null, created_at: "2025-01-01T00:00:00Z", html_url: "u" }),
    ).toEqual({
      id: 3,
      body: "",
      author: null,
      authorId: null,
      createdAt: "2025-01-01T00:00:00Z",
      htmlUrl: "u",
    });
  });

  it("keeps the author's numeric id, which a rename of the account does not change", () => {
    const user = { login: "octo-renamed", id: 41898282 };
    const comment = toIssueComment({ id: 3, body: "b", user, created_at: "2025-01-01T00:00:00Z" });
    expect(comment).toMatchObject({ author: "octo-renamed", authorId: 41898282 });
    expect(toIssueComment({ id: 3, user: { login: "x", id: "7" }, created_at: "t" }).authorId).toBeNull();
  });

  it("rejects what is not a comment", () => {
    expect(() => toIssueComment("<html>")).toThrow(UnexpectedAnswer);
    expect(() => toIssueComment({ id: "3" })).toThrow(UnexpectedAnswer);
  });
});

/** toGitHubError for a request about acme/widgets#123 on api.github.com, no secrets, an answer known. */
function repoError(
  failure: Parameters<typeof toGitHubError>[0],
  method: string,
  doing: string,
  info: { attempts: number; elapsedMs: number; timeoutMs: number },
) {
  const op = { method, doing, notFound: "", maybeApplied: "", repo: "acme/widgets" };
  return toGitHubError(
    failure,
    op,
    { ...info, outcomeUnknown: false },
    { apiUrl: "https://api.github.com", secrets: [], now: 0 },
  );
}

describe("toGitHubError", () => {
  it("turns anything else thrown on the way into a redacted GitHubError", () => {
    const token = `ghp_${"z".repeat(36)}`;
    const failure = parseFailure(new TypeError(`invalid media type near ${token}`), 0);
    const op = {
      method: "GET",
      doing: "reading the token's user (GET /user)",
      notFound: "",
      maybeApplied: "",
      repo: null,
    };
    const error = toGitHubError(
      failure,
      op,
      { attempts: 1, outcomeUnknown: false, timeoutMs: 8000, elapsedMs: 0 },
      {
        apiUrl: "https://api.github.com/",
        secrets: [token],
        now: 0,
      },
    );
    expect(error.kind).toBe("server");
    expect(error.message).toBe(
      "reading the token's user (GET /user) failed: unexpected error talking to https://api.github.com (TypeError: invalid media type near ***)",
    );
    expect((error.cause as Error).name).toBe("TypeError");
    expect(inspect(error, { depth: 10 })).not.toContain(token);
  });
  it("escapes control characters in what GitHub said: nothing raw reaches a terminal or the run state", () => {
    const failure = {
      type: "http",
      status: 500,
      message: "boom \u001b[31mred\u001b[0m \u0000 end",
      requestId: null,
      rateLimit: null,
    } as const;
    const error = repoError(failure, "PATCH", "editing comment 1 of acme/widgets#123", {
      attempts: 1,
      elapsedMs: 0,
      timeoutMs: 8000,
    });
    expect(error.message).toContain("boom \\u001b[31mred\\u001b[0m \\u0000 end");
    expect(error.message).not.toMatch(/[\u0000-\u001f]/);
  });
  it("says an answer too large to be GitHub's was cut off, and where to look, not that it was lost", () => {
    const failure = {
      type: "network",
      code: "ERR_ANSWER_TOO_LARGE",
      detail: "the answer is larger than 128 MiB",
      requestSent: true,
      timedOut: false,
      proxy: null,
    } as const;
    const error = repoError(failure, "GET", "listing the comments of acme/widgets#123", {
      attempts: 1,
      elapsedMs: 300,
      timeoutMs: 8000,
    });
    expect(error.kind).toBe("server");
    expect(error.message).toBe(
      "listing the comments of acme/widgets#123 failed: https://api.github.com answered with more than GitHub sends (the answer is larger than 128 MiB): check that https://api.github.com is a GitHub API URL",
    );
  });
  it("says how long GitHub was waited for in all, not the last attempt's timeout", () => {
    const failure = {
      type: "network",
      code: "ETIMEDOUT",
      detail: "",
      requestSent: false,
      timedOut: true,
      proxy: null,
    } as const;
    const error = repoError(failure, "GET", "listing the comments of acme/widgets#123", {
      attempts: 2,
      elapsedMs: 10_000,
      timeoutMs: 1800,
    });
    expect(error.kind).toBe("timeout");
    expect(error.message).toBe(
      "listing the comments of acme/widgets#123 failed after 2 attempts: GitHub did not answer within 10s: try again later",
    );
  });
});
