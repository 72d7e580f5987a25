import { type IncomingHttpHeaders, request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "./support/cli.js";
import { type FakeGitHub, type FakeGitHubOptions, startFakeGitHub } from "./support/fake-github/index.js";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field in assertions
  json: any;
}

interface CallOptions {
  token?: string | null;
  authorization?: string;
  body?: unknown;
  /** null: none sent. */
  userAgent?: string | null;
}

const ISSUE = "/repos/acme/widgets/issues/123/comments";
const comment = (id: number) => `/repos/acme/widgets/issues/comments/${id}`;

let fakes: FakeGitHub[] = [];

async function start(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = await startFakeGitHub(options);
  fakes.push(fake);
  return fake;
}

afterEach(async () => {
  await Promise.all(fakes.map((fake) => fake.close()));
  fakes = [];
});

/** One request on a fresh connection (no agent), so socket faults hit only this request. */
function call(fake: FakeGitHub, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const token = options.token === undefined ? "test-token" : options.token;
  const headers: Record<string, string> = { accept: "application/vnd.github+json" };
  if (options.userAgent !== null) headers["user-agent"] = options.userAgent ?? "fake-github-test";
  const authorization = options.authorization ?? (token === null ? undefined : `token ${token}`);
  if (authorization !== undefined) headers.authorization = authorization;
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = request(`${fake.url}${path}`, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text,
          json: text === "" ? undefined : JSON.parse(text),
        }),
      );
    });
    req.on("error", reject);
    req.end(payload);
  });
}

describe("fake GitHub: server", () => {
  it("listens on 127.0.0.1 only and closes", async () => {
    const fake = await start();
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await fake.close();
    await expect(call(fake, "GET", "/user")).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe("fake GitHub: authentication", () => {
  it("answers 401 Bad credentials without a token or with an unknown one", async () => {
    const fake = await start();
    for (const token of [null, "nope"]) {
      const answer = await call(fake, "GET", "/user", { token });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      });
      expect(answer.headers["x-ratelimit-limit"]).toBeDefined();
    }
    expect(fake.requests.map((r) => [r.status, r.user])).toEqual([
      [401, null],
      [401, null],
    ]);
  });

  it("refuses a request without a User-Agent with 403, as GitHub does", async () => {
    const fake = await start();
    const answer = await call(fake, "GET", "/user", { userAgent: null });
    expect(answer.status).toBe(403);
    expect((answer.json as { message: string }).message).toMatch(/User-Agent/);
    expect((await call(fake, "GET", "/user")).status).toBe(200);
  });

  it("accepts `token X` and `Bearer X`, logs the login and never the token", async () => {
    const fake = await start({ tokens: { "secret-1": "alice", "secret-2": "bob" } });
    const alice = await call(fake, "GET", "/user", { authorization: "token secret-1" });
    const bob = await call(fake, "GET", "/user", { authorization: "Bearer secret-2" });
    expect(alice.json).toMatchObject({ login: "alice", id: 1, type: "User" });
    expect(bob.json).toMatchObject({ login: "bob", id: 2, type: "User" });
    expect(fake.requests.map((r) => r.user)).toEqual(["alice", "bob"]);
    expect(JSON.stringify(fake.requests)).not.toMatch(/secret-/);
  });

  it("answers GET /user with 403 for an installation token when viewerForbidden", async () => {
    const fake = await start({ viewerForbidden: true });
    const answer = await call(fake, "GET", "/user");
    expect(answer.status).toBe(403);
    expect(answer.json.message).toBe("Resource not accessible by integration");
  });

  it("sends core rate-limit headers and refuses with 403 once the hour's quota is spent", async () => {
    let now = Date.UTC(2025, 0, 1);
    const fake = await start({ coreLimit: 2, clock: () => now });
    const first = await call(fake, "GET", "/user");
    expect(first.headers).toMatchObject({
      "x-ratelimit-limit": "2",
      "x-ratelimit-remaining": "1",
      "x-ratelimit-used": "1",
      "x-ratelimit-resource": "core",
      "x-ratelimit-reset": String(now / 1000 + 3600),
    });
    expect((await call(fake, "GET", "/user")).status).toBe(200);
    const refused = await call(fake, "GET", ISSUE);
    expect(refused.status).toBe(403);
    expect(refused.headers["x-ratelimit-remaining"]).toBe("0");
    expect(refused.json.message).toBe("API rate limit exceeded for user ID 1.");
    expect(fake.rateLimitResponses).toBe(1);
    now += 3_600_000;
    expect((await call(fake, "GET", "/user")).status).toBe(200);
  });
});

describe("fake GitHub: comments", () => {
  it("creates, reads, updates and deletes a comment in GitHub's shapes", async () => {
    const fake = await start();
    const created = await call(fake, "POST", ISSUE, { body: { body: "hello" } });
    expect(created.status).toBe(201);
    const id: number = created.json.id;
    expect(created.json).toMatchObject({
      id,
      body: "hello",
      url: `${fake.url}${comment(id)}`,
      html_url: `https://github.com/acme/widgets/issues/123#issuecomment-${id}`,
      issue_url: `${fake.url}/repos/acme/widgets/issues/123`,
      user: { login: "octo-bot", id: 1, type: "User" },
      author_association: "NONE",
    });
    expect(created.json.node_id).toEqual(expect.any(String));
    expect(created.json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const read = await call(fake, "GET", comment(id));
    expect(read.status).toBe(200);
    expect(read.json.body).toBe("hello");

    const updated = await call(fake, "PATCH", comment(id), { body: { body: "edited" } });
    expect(updated.status).toBe(200);
    expect(updated.json.body).toBe("edited");
    expect(fake.comments("acme/widgets", 123).map((c) => [c.id, c.body, c.author])).toEqual([
      [id, "edited", "octo-bot"],
    ]);

    const deleted = await call(fake, "DELETE", comment(id));
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect((await call(fake, "GET", comment(id))).status).toBe(404);
    expect(fake.comments("acme/widgets", 123)).toEqual([]);
    expect(fake.writes).toHaveLength(3);
  });

  it("shows comments added and removed through the control API", async () => {
    const fake = await start();
    const human = fake.addComment("acme/widgets", 123, "from the web", "someone");
    const mine = fake.addComment("acme/widgets", 123, "mine", "octo-bot");
    const listed = await call(fake, "GET", ISSUE);
    expect(listed.json.map((c: { id: number }) => c.id)).toEqual([human.id, mine.id]);
    expect(listed.json[0].user.login).toBe("someone");
    expect(fake.removeComment(human.id)).toBe(true);
    expect(fake.removeComment(human.id)).toBe(false);
    expect((await call(fake, "GET", ISSUE)).json).toHaveLength(1);
  });

  it("refuses with 403 to edit or delete another user's comment and leaves it alone", async () => {
    const fake = await start();
    const other = fake.addComment("acme/widgets", 123, "not yours", "someone-else");
    const patch = await call(fake, "PATCH", comment(other.id), { body: { body: "hijack" } });
    expect(patch.status).toBe(403);
    expect(patch.json.message).toEqual(expect.any(String));
    expect((await call(fake, "DELETE", comment(other.id))).status).toBe(403);
    expect(fake.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["not yours"]);
    expect(fake.writes).toEqual([]);
  });

  it("pages 75 comments by 30 with GitHub's Link header", async () => {
    const fake = await start();
    for (let i = 0; i < 75; i += 1) fake.addComment("acme/widgets", 123, `c${i}`, "octo-bot");
    const base = `${fake.url}${ISSUE}`;
    const page1 = await call(fake, "GET", `${ISSUE}?per_page=30`);
    expect(page1.json).toHaveLength(30);
    expect(page1.headers.link).toBe(
      `<${base}?per_page=30&page=2>; rel="next", <${base}?per_page=30&page=3>; rel="last"`,
    );
    const page2 = await call(fake, "GET", `${ISSUE}?per_page=30&page=2`);
    expect(page2.headers.link).toBe(
      `<${base}?per_page=30&page=1>; rel="prev", <${base}?per_page=30&page=3>; rel="next", ` +
        `<${base}?per_page=30&page=3>; rel="last", <${base}?per_page=30&page=1>; rel="first"`,
    );
    const page3 = await call(fake, "GET", `${ISSUE}?per_page=30&page=3`);
    expect(page3.json).toHaveLength(15);
    expect(page3.headers.link).toBe(
      `<${base}?per_page=30&page=2>; rel="prev", <${base}?per_page=30&page=1>; rel="first"`,
    );
    const bodies = [...page1.json, ...page2.json, ...page3.json].map((c: { body: string }) => c.body);
    expect(bodies).toEqual(Array.from({ length: 75 }, (_, i) => `c${i}`));

    const defaults = await call(fake, "GET", ISSUE);
    expect(defaults.json).toHaveLength(30);
    expect(defaults.headers.link).toBe(`<${base}?page=2>; rel="next", <${base}?page=3>; rel="last"`);
    const capped = await call(fake, "GET", `${ISSUE}?per_page=500`);
    expect(capped.json).toHaveLength(75);
    expect(capped.headers.link).toBeUndefined();
  });

  it("accepts a body of exactly 65,536 characters and refuses 65,537 with 422", async () => {
    const fake = await start();
    expect((await call(fake, "POST", ISSUE, { body: { body: "x".repeat(65_536) } })).status).toBe(201);
    expect((await call(fake, "POST", ISSUE, { body: { body: "😀".repeat(32_768) } })).status).toBe(201);
    const tooLong = await call(fake, "POST", ISSUE, { body: { body: "x".repeat(65_537) } });
    expect(tooLong.status).toBe(422);
    expect(tooLong.json).toMatchObject({
      message: "Validation Failed",
      errors: [
        {
          resource: "IssueComment",
          code: "custom",
          field: "body",
          message: "body is too long (maximum is 65536 characters)",
        },
      ],
    });
    const id = fake.comments("acme/widgets", 123)[0]?.id ?? 0;
    expect((await call(fake, "PATCH", comment(id), { body: { body: "y".repeat(65_537) } })).status).toBe(422);
    expect((await call(fake, "POST", ISSUE, { body: { body: "" } })).status).toBe(422);
    expect((await call(fake, "POST", ISSUE, { body: {} })).status).toBe(422);
    expect((await call(fake, "POST", ISSUE, { body: "{not json" })).status).toBe(400);
    expect(fake.comments("acme/widgets", 123)).toHaveLength(2);
    expect(fake.writes).toHaveLength(2);
  });

  it("answers 404 Not Found for unknown repos, issues, comments and routes", async () => {
    const fake = await start();
    const elsewhere = await start({ repos: ["acme/other"], issues: [{ repo: "acme/other", number: 1 }] });
    const other = elsewhere.addComment("acme/other", 1, "x", "octo-bot");
    const mine = fake.addComment("acme/widgets", 123, "x", "octo-bot");
    const paths: Array<[string, string]> = [
      ["GET", "/repos/acme/nope/issues/123/comments"],
      ["POST", "/repos/acme/nope/issues/123/comments"],
      ["GET", "/repos/acme/widgets/issues/999/comments"],
      ["POST", "/repos/acme/widgets/issues/999/comments"],
      ["GET", comment(other.id + 1_000)],
      ["PATCH", `/repos/acme/nope/issues/comments/${mine.id}`],
      ["DELETE", comment(12_345)],
      ["GET", "/repos/acme/widgets/pulls"],
      ["PUT", ISSUE],
    ];
    for (const [method, path] of paths) {
      const answer = await call(fake, method, path, { body: { body: "hi" } });
      expect([method, path, answer.status]).toEqual([method, path, 404]);
      expect(answer.json.message).toBe("Not Found");
    }
    expect(fake.comments("acme/widgets", 123)).toHaveLength(1);
  });

  it("refuses with 403 to comment on a locked issue", async () => {
    const fake = await start({ issues: [{ repo: "acme/widgets", number: 7, locked: true }] });
    const locked = await call(fake, "POST", "/repos/acme/widgets/issues/7/comments", {
      body: { body: "hi" },
    });
    expect(locked.status).toBe(403);
    expect(locked.json.message).toBe("Unable to create comment because issue is locked.");
    fake.lockIssue("acme/widgets", 7, false);
    expect(
      (await call(fake, "POST", "/repos/acme/widgets/issues/7/comments", { body: { body: "hi" } })).status,
    ).toBe(201);
    fake.lockIssue("acme/widgets", 7, true);
    expect(
      (await call(fake, "POST", "/repos/acme/widgets/issues/7/comments", { body: { body: "hi" } })).status,
    ).toBe(403);
    expect(fake.comments("acme/widgets", 7)).toHaveLength(1);
  });
});

describe("fake GitHub: secondary rate limits", () => {
  it("enforces the minimum interval between writes of one token", async () => {
    let now = 1_000_000;
    const fake = await start({ minWriteIntervalMs: 1000, clock: () => now });
    expect((await call(fake, "POST", ISSUE, { body: { body: "a" } })).status).toBe(201);
    now += 500;
    const early = await call(fake, "POST", ISSUE, { body: { body: "b" } });
    expect(early.status).toBe(403);
    expect(early.headers["retry-after"]).toBe("60");
    expect(early.json.message).toMatch(
      /^You have exceeded a secondary rate limit\. Please wait a few minutes/,
    );
    expect((await call(fake, "GET", ISSUE)).status).toBe(200);
    now += 500;
    expect((await call(fake, "POST", ISSUE, { body: { body: "c" } })).status).toBe(201);
    expect(fake.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["a", "c"]);
    expect(fake.writes).toEqual([1_000_000, 1_001_000]);
    expect(fake.rateLimitResponses).toBe(1);
  });

  it("enforces writesPerMinute per token in a rolling window, optionally as 429", async () => {
    let now = 0;
    const fake = await start({
      writesPerMinute: 3,
      secondaryLimitStatus: 429,
      clock: () => now,
      tokens: { a: "alice", b: "bob" },
    });
    for (let i = 0; i < 3; i += 1) {
      expect((await call(fake, "POST", ISSUE, { token: "a", body: { body: `a${i}` } })).status).toBe(201);
      now += 10_000;
    }
    const limited = await call(fake, "POST", ISSUE, { token: "a", body: { body: "a3" } });
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("60");
    expect((await call(fake, "POST", ISSUE, { token: "b", body: { body: "b0" } })).status).toBe(201);
    now = 60_000;
    expect((await call(fake, "POST", ISSUE, { token: "a", body: { body: "a4" } })).status).toBe(201);
    expect(fake.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["a0", "a1", "a2", "b0", "a4"]);
    expect(fake.rateLimitResponses).toBe(1);
  });

  it("enforces writesPerHour", async () => {
    let now = 0;
    const fake = await start({ writesPerHour: 2, clock: () => now });
    const id = fake.addComment("acme/widgets", 123, "x", "octo-bot").id;
    expect((await call(fake, "PATCH", comment(id), { body: { body: "1" } })).status).toBe(200);
    now += 120_000;
    expect((await call(fake, "PATCH", comment(id), { body: { body: "2" } })).status).toBe(200);
    now += 120_000;
    expect((await call(fake, "DELETE", comment(id))).status).toBe(403);
    expect(fake.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["2"]);
    now = 3_600_000;
    expect((await call(fake, "DELETE", comment(id))).status).toBe(204);
  });
});

describe("fake GitHub: faults", () => {
  it("fails with 500/502/503 at failureRate, the same way for the same seed", async () => {
    const statuses = async (fake: FakeGitHub) => {
      fake.setFaults({ failureRate: 0.5 });
      const seen: number[] = [];
      for (let i = 0; i < 20; i += 1) seen.push((await call(fake, "GET", "/user")).status);
      return seen;
    };
    const first = await statuses(await start({ seed: 42 }));
    const second = await statuses(await start({ seed: 42 }));
    expect(first).toEqual(second);
    expect(new Set(first).has(200)).toBe(true);
    expect(first.filter((s) => s !== 200).every((s) => [500, 502, 503].includes(s))).toBe(true);
    expect(first.some((s) => s !== 200)).toBe(true);

    const always = await start({ seed: 7 });
    always.setFaults({ failureRate: 1 });
    const failed = await call(always, "POST", ISSUE, { body: { body: "x" } });
    expect([500, 502, 503]).toContain(failed.status);
    expect(failed.json.message).toEqual(expect.any(String));
    expect(always.comments("acme/widgets", 123)).toEqual([]);
  });

  it("drops connections at dropRate without answering", async () => {
    const fake = await start();
    fake.setFaults({ dropRate: 1 });
    await expect(call(fake, "POST", ISSUE, { body: { body: "x" } })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
    expect(fake.comments("acme/widgets", 123)).toEqual([]);
    expect(fake.requests.map((r) => r.outcome)).toEqual(["dropped"]);
    fake.setFaults({ dropRate: 0 });
    expect((await call(fake, "GET", "/user")).status).toBe(200);
  });

  it("holds requests while hanging: they proceed when cleared, and close() ends them", async () => {
    const fake = await start();
    fake.setFaults({ hang: true });
    const released = call(fake, "GET", "/user");
    expect(await waitFor(() => fake.requests.length === 1, 2_000, 10)).toBe(true);
    expect(fake.requests[0]?.outcome).toBe("pending");
    fake.setFaults({ hang: false });
    expect((await released).status).toBe(200);

    fake.setFaults({ hang: true });
    const hung = call(fake, "POST", ISSUE, { body: { body: "never" } });
    const settled = hung.then(
      () => "answered",
      (error: Error) => error.message,
    );
    expect(await waitFor(() => fake.requests.length === 2, 2_000, 10)).toBe(true);
    await fake.close();
    expect(await settled).toMatch(/socket hang up|ECONNRESET/);
    expect(fake.comments("acme/widgets", 123)).toEqual([]);
  });

  it("delays every answer by latencyMs", async () => {
    const fake = await start();
    fake.setFaults({ latencyMs: 150 });
    const started = Date.now();
    expect((await call(fake, "GET", "/user")).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("loses create responses: the comment exists but the client sees a socket error", async () => {
    const fake = await start();
    fake.setFaults({ loseCreateResponses: 1 });
    await expect(call(fake, "POST", ISSUE, { body: { body: "ghost" } })).rejects.toThrow(
      /socket hang up|ECONNRESET/,
    );
    expect(fake.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["ghost"]);
    expect(fake.writes).toHaveLength(1);
    expect(fake.requests.map((r) => [r.status, r.outcome])).toEqual([[201, "lost"]]);
    expect((await call(fake, "POST", ISSUE, { body: { body: "seen" } })).status).toBe(201);
    expect(fake.comments("acme/widgets", 123).map((c) => c.body)).toEqual(["ghost", "seen"]);
  });

  it("answers scripted statuses in order, then behaves normally", async () => {
    const fake = await start();
    fake.setFaults({
      script: [
        { status: 401, pathIncludes: "/user" },
        { status: 500, method: "post", times: 2 },
        { status: 403, method: "PATCH", message: "Resource not accessible by integration" },
        {
          status: 429,
          headers: { "retry-after": "3" },
          message: "You have exceeded a secondary rate limit.",
        },
      ],
    });
    const unauthorized = await call(fake, "GET", "/user");
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.json.message).toBe("Bad credentials");
    expect((await call(fake, "POST", ISSUE, { body: { body: "x" } })).status).toBe(500);
    expect((await call(fake, "POST", ISSUE, { body: { body: "x" } })).status).toBe(500);
    const forbidden = await call(fake, "PATCH", comment(1), { body: { body: "x" } });
    expect([forbidden.status, forbidden.json.message]).toEqual([
      403,
      "Resource not accessible by integration",
    ]);
    const limited = await call(fake, "GET", ISSUE);
    expect([limited.status, limited.headers["retry-after"]]).toEqual([429, "3"]);
    expect(fake.rateLimitResponses).toBe(1);
    expect((await call(fake, "GET", "/user")).status).toBe(200);
    expect((await call(fake, "POST", ISSUE, { body: { body: "x" } })).status).toBe(201);
    expect(fake.comments("acme/widgets", 123)).toHaveLength(1);
  });

  it("reset() restores the initial state", async () => {
    const fake = await start({ issues: [{ repo: "acme/widgets", number: 123, locked: false }] });
    fake.addComment("acme/widgets", 123, "x", "octo-bot");
    fake.lockIssue("acme/widgets", 123, true);
    fake.setFaults({ failureRate: 1 });
    await call(fake, "GET", "/user");
    fake.reset();
    expect(fake.comments("acme/widgets", 123)).toEqual([]);
    expect(fake.requests).toEqual([]);
    expect((await call(fake, "POST", ISSUE, { body: { body: "after" } })).status).toBe(201);
  });
});
