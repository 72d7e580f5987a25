import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { GitHubError, UsageError } from "../../src/errors.js";
import { createOctokitClient, type OctokitClientOptions } from "../../src/github/octokit-client.js";
import { readProxySettings } from "../../src/github/proxy.js";
import { closedPort, type Handler, silentServer, useLoopbackServers } from "../support/loopback.js";

const TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
const REPO = { owner: "acme", name: "widgets" };
const NOW = Date.parse("2025-10-19T16:30:00Z");

const serve = useLoopbackServers();

function json(status: number, data: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res
      .writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
      .end(JSON.stringify(data));
  };
}

function comment(id: number, login: string | null = "octo-bot") {
  return {
    id,
    body: `comment ${id}`,
    user: login === null ? null : { login },
    created_at: "2025-10-19T16:30:00Z",
    html_url: `https://github.com/acme/widgets/issues/123#issuecomment-${id}`,
  };
}

function client(url: string, options: Partial<OctokitClientOptions> = {}) {
  const sleeps: number[] = [];
  const github = createOctokitClient({
    token: TOKEN,
    apiUrl: url,
    clock: { now: () => NOW },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { github, sleeps };
}

async function failure(promise: Promise<unknown>): Promise<GitHubError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitHubError);
  return error as GitHubError;
}

function expectNoSecrets(error: unknown): void {
  const text = inspect(error, { depth: 20, showHidden: true });
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain("abcdefghijklmnopqrstuvwxyz0123456789");
  expect(text).not.toMatch(/authorization/i);
  expect(text).not.toContain("request:");
}

describe("createOctokitClient: happy paths", () => {
  it("lists comments over three pages following Link rel=next", async () => {
    const page = (from: number, count: number, next: number | null): Handler => {
      return (_req, res, base) => {
        const link =
          next === null
            ? {}
            : {
                link: `<${base}/repositories/1/issues/123/comments?per_page=100&page=${next}>; rel="next", <${base}/x?page=3>; rel="last"`,
              };
        json(
          200,
          Array.from({ length: count }, (_, i) => comment(from + i, i === 0 ? null : "octo-bot")),
          link,
        )(_req, res, base);
      };
    };
    const { url, received } = await serve(page(1, 100, 2), page(101, 100, 3), page(201, 50, null));
    const comments = await client(url).github.listComments(REPO, 123);
    expect(comments).toHaveLength(250);
    expect(comments.map((c) => c.id)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(comments[0]).toEqual({
      id: 1,
      body: "comment 1",
      author: null,
      authorId: null,
      createdAt: "2025-10-19T16:30:00Z",
      htmlUrl: "https://github.com/acme/widgets/issues/123#issuecomment-1",
    });
    expect(comments[1]?.author).toBe("octo-bot");
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /repos/acme/widgets/issues/123/comments?per_page=100",
      "GET /repositories/1/issues/123/comments?per_page=100&page=2",
      "GET /repositories/1/issues/123/comments?per_page=100&page=3",
    ]);
    for (const request of received) {
      expect(request.headers.authorization).toBe(`token ${TOKEN}`);
      expect(request.headers["x-github-api-version"]).toBe("2022-11-28");
      expect(request.headers["user-agent"]).toMatch(/^parallel-progress /);
    }
  });

  it("creates, updates and deletes comments", async () => {
    const { url, received } = await serve(json(201, comment(9)), json(200, comment(9)), (_req, res) =>
      res.writeHead(204).end(),
    );
    const { github } = client(url);
    expect((await github.createComment(REPO, 123, "hello | world")).id).toBe(9);
    expect((await github.updateComment(REPO, 9, "again")).htmlUrl).toContain("issuecomment-9");
    await expect(github.deleteComment(REPO, 9)).resolves.toBeUndefined();
    expect(received.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
      'POST /repos/acme/widgets/issues/123/comments {"body":"hello | world"}',
      'PATCH /repos/acme/widgets/issues/comments/9 {"body":"again"}',
      "DELETE /repos/acme/widgets/issues/comments/9 ",
    ]);
  });

  it("reads the viewer's login, and null when the token cannot read /user", async () => {
    const { url } = await serve(
      json(200, { login: "octo-bot" }),
      json(403, { message: "Resource not accessible by integration" }),
    );
    const { github } = client(url);
    expect(await github.viewer()).toBe("octo-bot");
    expect(await github.viewer()).toBeNull();
  });

  it("rejects an API URL that is not http(s), as the caller's mistake", () => {
    expect(() => createOctokitClient({ token: TOKEN, apiUrl: "ftp://example.com" })).toThrow(UsageError);
    expect(() => createOctokitClient({ token: TOKEN, apiUrl: "not a url" })).toThrow(UsageError);
  });
});

describe("createOctokitClient: error mapping", () => {
  const cases: Array<{ name: string; status: number; data: unknown; kind: string; message: string }> = [
    {
      name: "401",
      status: 401,
      data: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" },
      kind: "auth",
      message:
        "creating a comment on acme/widgets#123 failed: GitHub rejected the token (401 Bad credentials): set GITHUB_TOKEN or GH_TOKEN to a valid token with issues:write",
    },
    {
      name: "403 locked issue",
      status: 403,
      data: { message: "Unable to create comment because issue is locked." },
      kind: "forbidden",
      message:
        "creating a comment on acme/widgets#123 failed: GitHub refused (403 Unable to create comment because issue is locked.): the issue is locked: unlock it, or use a token with write access to acme/widgets",
    },
    {
      name: "403 integration",
      status: 403,
      data: { message: "Resource not accessible by integration" },
      kind: "forbidden",
      message:
        'creating a comment on acme/widgets#123 failed: GitHub refused (403 Resource not accessible by integration): the token lacks permission: give it issues: write (in a workflow: "permissions: issues: write")',
    },
    {
      name: "404",
      status: 404,
      data: { message: "Not Found" },
      kind: "not-found",
      message:
        "creating a comment on acme/widgets#123 failed: issue #123 or repository acme/widgets not found, or the token cannot see it (404): check the repository and issue number, and that the token has access to the repository",
    },
    // 410 is not 404: GitHub says why, and the token's access is not the problem.
    {
      name: "410 issues turned off",
      status: 410,
      data: { message: "Issues are disabled for this repo" },
      kind: "not-found",
      message:
        "creating a comment on acme/widgets#123 failed: GitHub says it is gone (410 Issues are disabled for this repo): issues are turned off for acme/widgets: turn them on in its settings, or track an issue elsewhere",
    },
    {
      name: "410 deleted issue",
      status: 410,
      data: { message: "This issue was deleted" },
      kind: "not-found",
      message:
        "creating a comment on acme/widgets#123 failed: GitHub says it is gone (410 This issue was deleted): track another issue (--issue)",
    },
    {
      name: "422",
      status: 422,
      data: {
        message: "Validation Failed",
        errors: [
          {
            resource: "IssueComment",
            code: "custom",
            field: "body",
            message: "body is too long (maximum is 65536 characters)",
          },
        ],
      },
      kind: "validation",
      message:
        "creating a comment on acme/widgets#123 failed: GitHub rejected the request (422 Validation Failed: body is too long (maximum is 65536 characters))",
    },
    {
      name: "500 on a create (not resent: it may have landed)",
      status: 500,
      data: { message: "Server Error" },
      kind: "server",
      message:
        "creating a comment on acme/widgets#123 failed: GitHub had a server error (500 Server Error): the comment may have been created, so it was not sent again",
    },
  ];

  for (const { name, status, data, kind, message } of cases) {
    it(`maps ${name}`, async () => {
      const { url, received } = await serve(json(status, data));
      const error = await failure(client(url).github.createComment(REPO, 123, "body"));
      expect(error.message).toBe(message);
      expect(error.kind).toBe(kind);
      expect(error.status).toBe(status);
      expect(received).toHaveLength(1);
      expectNoSecrets(error);
      expect(error.cause).toBeInstanceOf(Error);
      expect(Object.keys(error.cause as object)).not.toContain("request");
    });
  }

  // The API always answers an error in JSON. A web page means the URL is not the API: github.com itself,
  // or a GitHub Enterprise Server's host without /api/v3 (its web pages say 404 to /repos/...).
  it("explains an error answered with a web page as a wrong API URL, not as a missing issue", async () => {
    const page =
      (status: number): Handler =>
      (_req, res) =>
        res
          .writeHead(status, { "content-type": "text/html; charset=utf-8" })
          .end("<!DOCTYPE html><html>Page not found</html>");
    for (const status of [404, 401]) {
      const { url } = await serve(page(status));
      const error = await failure(client(url).github.createComment(REPO, 123, "body"));
      expect(error.message).toBe(
        `creating a comment on acme/widgets#123 failed: ${url} answered ${status} with a web page, not as GitHub's API does: check the API URL (--api-url, GITHUB_API_URL): https://api.github.com, or https://HOST/api/v3 for a GitHub Enterprise Server`,
      );
      expect([error.kind, error.status]).toEqual([status === 404 ? "not-found" : "auth", status]);
    }
  });

  it("names the proxy, not the API URL, for a proxy's 407 (an http:// API URL through HTTP_PROXY)", async () => {
    const { url } = await serve((_req, res) =>
      res
        .writeHead(407, { "content-type": "text/html", "proxy-authenticate": 'Basic realm="proxy"' })
        .end("<html>Proxy Authentication Required</html>"),
    );
    const error = await failure(client(url).github.createComment(REPO, 123, "body"));
    expect(error.message).toBe(
      "creating a comment on acme/widgets#123 failed: the HTTP proxy asked for credentials (407 Proxy Authentication Required): check the user and password of the proxy URL (HTTP_PROXY, HTTPS_PROXY: http://user:password@host:port)",
    );
    expect([error.kind, error.status]).toEqual(["auth", 407]);
  });

  it("redacts a token that GitHub's message echoes", async () => {
    const { url } = await serve(json(422, { message: `token ${TOKEN} and ghs_${"x".repeat(36)} rejected` }));
    const error = await failure(client(url).github.updateComment(REPO, 9, "body"));
    expect(error.message).toBe(
      "updating comment 9 on acme/widgets failed: GitHub rejected the request (422 token *** and *** rejected)",
    );
    expectNoSecrets(error);
  });

  it("retries a 5xx on a read, then explains it with the number of attempts", async () => {
    const { url, received } = await serve((_req, res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<html>bad</html>"),
    );
    const { github, sleeps } = client(url);
    const error = await failure(github.listComments(REPO, 123));
    expect(error.message).toBe(
      "listing the comments of acme/widgets#123 failed after 3 attempts: GitHub had a server error (502): try again later",
    );
    expect(error.kind).toBe("server");
    expect(error.transient).toBe(true);
    expect(received).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });
});

describe("createOctokitClient: retries", () => {
  it("retries a 502 and succeeds", async () => {
    const { url, received } = await serve(json(502, { message: "Bad Gateway" }), json(200, [comment(1)]));
    const { github, sleeps } = client(url);
    expect(await github.listComments(REPO, 123)).toHaveLength(1);
    expect(received).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(150);
    expect(sleeps[0]).toBeLessThanOrEqual(250);
  });

  it("gives up on a hanging server within the total budget", async () => {
    const { url } = await serve(() => {});
    const { github } = client(url, {
      totalBudgetMs: 300,
      clock: { now: () => Date.now() },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    const started = Date.now();
    const error = await failure(github.listComments(REPO, 123));
    // Far under the 8 s request timeout it would otherwise wait; loose, for a loaded machine.
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.kind).toBe("timeout");
    expect(error.outcomeUnknown).toBe(false);
    expect(error.message).toBe(
      "listing the comments of acme/widgets#123 failed: GitHub did not answer within 0.3s: try again later",
    );
  });

  it("gives up when the caller's time is up, before the method's own budget", async () => {
    const { url, received } = await serve(() => {});
    const { github } = client(url, {
      clock: { now: () => Date.now() },
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    // The default budget is 10 s (longer than the test's own timeout): the deadline ends it.
    const error = await failure(github.listComments(REPO, 123, { timeoutMs: 300 }));
    expect(error.kind).toBe("timeout");
    expect(received.length).toBeGreaterThanOrEqual(1);
  });

  it("never resends a create whose connection dropped after the server read it", async () => {
    const { url, received } = await serve((_req, res) => res.socket?.destroy());
    const error = await failure(client(url).github.createComment(REPO, 123, "body"));
    expect(received.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(error.outcomeUnknown).toBe(true);
    expect(error.kind).toBe("network");
    expect(error.message).toBe(
      `creating a comment on acme/widgets#123 failed: the connection to ${url} was lost before GitHub answered (ECONNRESET): the comment may have been created, so it was not sent again`,
    );
    expectNoSecrets(error);
  });

  it("never resends a create that timed out after it was sent", async () => {
    const { url, received } = await serve(() => {});
    const error = await failure(
      client(url, { requestTimeoutMs: 150, clock: { now: () => Date.now() } }).github.createComment(
        REPO,
        123,
        "b",
      ),
    );
    expect(received).toHaveLength(1);
    expect(error.kind).toBe("timeout");
    expect(error.outcomeUnknown).toBe(true);
  });

  it("resends an update whose connection dropped: PATCH is idempotent", async () => {
    const { url, received } = await serve((_req, res) => res.socket?.destroy(), json(200, comment(9)));
    expect((await client(url).github.updateComment(REPO, 9, "b")).id).toBe(9);
    expect(received).toHaveLength(2);
  });

  it("retries a create that never reached the server (ECONNREFUSED), then reports its outcome as known", async () => {
    const port = await closedPort();
    const { github, sleeps } = client(`http://127.0.0.1:${port}`);
    const error = await failure(github.createComment(REPO, 123, "body"));
    expect(error.outcomeUnknown).toBe(false);
    expect(error.kind).toBe("network");
    expect(sleeps).toHaveLength(2);
    expect(error.message).toBe(
      `creating a comment on acme/widgets#123 failed after 3 attempts: could not connect to http://127.0.0.1:${port} (ECONNREFUSED): check the network and the API URL (--api-url, GITHUB_API_URL)`,
    );
    expectNoSecrets(error);
  });
});

describe("createOctokitClient: rate limits", () => {
  it("waits out a short retry-after once, then retries", async () => {
    const { url, received } = await serve(
      json(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "1" }),
      json(201, comment(5)),
    );
    const { github, sleeps } = client(url);
    expect((await github.createComment(REPO, 123, "b")).id).toBe(5);
    expect(sleeps).toEqual([1000]);
    expect(received).toHaveLength(2);
  });

  it("waits for x-ratelimit-reset when it is close", async () => {
    const reset = String((NOW + 2000) / 1000);
    const { url } = await serve(
      json(
        403,
        { message: "API rate limit exceeded" },
        // GitHub's clock as the test's (the reset is read against it: see rate-limit.ts).
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, date: new Date(NOW).toUTCString() },
      ),
      json(200, [comment(1)]),
    );
    const { github, sleeps } = client(url);
    expect(await github.listComments(REPO, 123)).toHaveLength(1);
    expect(sleeps).toEqual([2000]);
  });

  it("throws rate-limited with retryAt at once when the wait is long", async () => {
    const { url, received } = await serve(
      json(429, { message: "Too many requests" }, { "retry-after": "60" }),
    );
    const { github, sleeps } = client(url);
    const error = await failure(github.createComment(REPO, 123, "b"));
    expect(error.kind).toBe("rate-limited");
    expect(error.retryAt).toBe(NOW + 60_000);
    expect(error.outcomeUnknown).toBe(false);
    expect(sleeps).toEqual([]);
    expect(received).toHaveLength(1);
    expect(error.message).toBe(
      "creating a comment on acme/widgets#123 failed: GitHub rate limit reached (429, retry-after 60): try again after 2025-10-19T16:31:00.000Z (in 60s)",
    );
  });

  it("retries a rate limit only once", async () => {
    const { url, received } = await serve(json(429, { message: "slow down" }, { "retry-after": "1" }));
    const { github, sleeps } = client(url);
    const error = await failure(github.listComments(REPO, 123));
    expect(error.kind).toBe("rate-limited");
    expect(error.retryAt).toBe(NOW + 1000);
    expect(sleeps).toEqual([1000]);
    expect(received).toHaveLength(2);
  });

  it("does not wait when the wait does not fit in the budget", async () => {
    const { url, received } = await serve(json(403, { message: "x" }, { "retry-after": "2" }));
    const error = await failure(client(url, { totalBudgetMs: 1500 }).github.deleteComment(REPO, 1));
    expect(error.kind).toBe("rate-limited");
    expect(received).toHaveLength(1);
  });
});

describe("createOctokitClient: odd answers", () => {
  it("refuses to follow a next page on another host (the token would go there)", async () => {
    const { url } = await serve(
      json(200, [comment(1)], { link: '<https://evil.example/page2>; rel="next"' }),
    );
    const error = await failure(client(url).github.listComments(REPO, 123));
    expect(error.kind).toBe("server");
    expect(error.message).toContain("the Link header's next page is on another host: https://evil.example");
  });

  it("explains a success answer that is not JSON", async () => {
    const { url } = await serve((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<html>proxy</html>"),
    );
    const error = await failure(client(url).github.createComment(REPO, 123, "b"));
    expect(error.kind).toBe("server");
    expect(error.message).toBe(
      `creating a comment on acme/widgets#123 failed: GitHub answered unexpectedly (expected a comment, got text): check that ${url} is a GitHub API URL`,
    );
  });
});

describe("createOctokitClient: through a proxy", () => {
  // A SOCKS5 proxy's refusal was read as a connection lost after sending (ERR_FETCH_SYSTEM), never retried.
  it.each(["http", "socks5", "socks5h"])(
    "names the %s:// proxy (never its password) when it cannot be reached, and retries as for GitHub",
    async (scheme) => {
      const port = await closedPort();
      const target = await serve(json(201, comment(1)));
      const proxy = readProxySettings({ HTTP_PROXY: `${scheme}://user:s3cret@127.0.0.1:${port}` });
      const { github, sleeps } = client(target.url, { proxy });
      const error = await failure(github.createComment(REPO, 123, "body"));
      expect([error.kind, error.outcomeUnknown, sleeps.length]).toEqual(["network", false, 2]);
      expect(error.message).toBe(
        `creating a comment on acme/widgets#123 failed after 3 attempts: could not connect to ${target.url} through the proxy ${scheme}://127.0.0.1:${port} (HTTP_PROXY) (ECONNREFUSED): check the proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), the network and the API URL`,
      );
      expect(target.received).toHaveLength(0);
      expect(inspect(error, { depth: 20, showHidden: true })).not.toContain("s3cret");
    },
  );

  // Before the CONNECT tunnel or the SOCKS handshake is up, nothing of the request is written: a create
  // that timed out then was sent nowhere, and is tried again as after a refused connection.
  it.each([
    ["http", "CONNECT"],
    ["socks5h", "SOCKS greeting"],
  ])("tries a create again when the %s:// proxy never answers its %s, and says so", async (scheme) => {
    const silent = await silentServer();
    const { port } = silent;
    try {
      const proxy = readProxySettings({ HTTPS_PROXY: `${scheme}://user:s3cret@127.0.0.1:${port}` });
      const { github } = client("https://api.github.example", {
        proxy,
        requestTimeoutMs: 150,
        clock: { now: () => Date.now() },
      });
      const error = await failure(github.createComment(REPO, 123, "body"));
      expect([error.kind, error.outcomeUnknown, silent.accepted() > 1]).toEqual(["timeout", false, true]);
      expect(error.message).toMatch(
        new RegExp(
          `^creating a comment on acme/widgets#123 failed after \\d attempts: the proxy ${scheme}://127\\.0\\.0\\.1:${port} \\(HTTPS_PROXY\\) did not open a connection to https://api\\.github\\.example within [\\d.]+s: check the proxy \\(HTTPS_PROXY, HTTP_PROXY, NO_PROXY\\), the network and the API URL$`,
        ),
      );
      expect(inspect(error, { depth: 20, showHidden: true })).not.toContain("s3cret");
    } finally {
      await silent.close();
    }
  });

  // The name that did not resolve is the proxy's: the message named the API's address (socks5:// resolves
  // the API's name here, so an API host that does not resolve still names the API).
  it.each(["http", "socks5", "socks5h"])(
    "names the %s:// proxy (never its password) when its host does not resolve",
    async (scheme) => {
      const target = await serve(json(201, comment(1)));
      const proxy = readProxySettings({ HTTP_PROXY: `${scheme}://user:s3cret@proxyhost.invalid:3128` });
      const error = await failure(client(target.url, { proxy }).github.createComment(REPO, 123, "body"));
      expect(error.message).toMatch(
        new RegExp(
          `^creating a comment on acme/widgets#123 failed(?: after \\d attempts)?: could not resolve the host of the proxy ${scheme}://proxyhost\\.invalid:3128 \\(HTTP_PROXY\\) \\((ENOTFOUND|EAI_AGAIN)\\): check the proxy`,
        ),
      );
      expect(target.received).toHaveLength(0);
      expect(inspect(error, { depth: 20, showHidden: true })).not.toContain("s3cret");
    },
  );

  it("names the API's host, not the socks5:// proxy, when the API's name does not resolve here", async () => {
    const port = await closedPort();
    const proxy = readProxySettings({ HTTP_PROXY: `socks5://127.0.0.1:${port}` });
    const error = await failure(
      client("http://apihost.invalid", { proxy }).github.createComment(REPO, 123, "body"),
    );
    expect(error.message).toMatch(
      new RegExp(
        `could not resolve the host of http://apihost\\.invalid through the proxy socks5://127\\.0\\.0\\.1:${port} \\(HTTP_PROXY\\) \\((ENOTFOUND|EAI_AGAIN)\\)`,
      ),
    );
  });

  it("explains a proxy variable that is not a URL, without retrying", async () => {
    const target = await serve(json(201, comment(1)));
    const proxy = readProxySettings({ http_proxy: "http://[oops" });
    const { github, sleeps } = client(target.url, { proxy });
    const error = await failure(github.createComment(REPO, 123, "body"));
    expect([error.kind, sleeps.length]).toEqual(["network", 0]);
    expect(error.message).toBe(
      'creating a comment on acme/widgets#123 failed: http_proxy is not a proxy URL: "http://[oops": set it to http://host:port (or unset it, or list the host in NO_PROXY)',
    );
  });

  it("goes straight to a host NO_PROXY lists", async () => {
    const port = await closedPort();
    const target = await serve(json(201, comment(4)));
    const proxy = readProxySettings({ HTTP_PROXY: `http://127.0.0.1:${port}`, NO_PROXY: "127.0.0.1" });
    expect((await client(target.url, { proxy }).github.createComment(REPO, 123, "b")).id).toBe(4);
    expect(target.received).toHaveLength(1);
  });
});
