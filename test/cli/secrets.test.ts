import { mkdir, readFile, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  allFileText,
  type CliResult,
  makeEpic,
  queueFiles,
  runCli,
  stopFlushers,
  taskMd,
  waitFor,
} from "../support/cli.js";
import { type FakeGitHub, startFakeGitHub } from "../support/fake-github/index.js";
import { useFakeGitHub } from "../support/harness.js";
import { TOKEN, wholeRun } from "../support/leak-run.js";

/**
 * Issue #4, "Secrets": the token never shows up in stdout, stderr, any file under the epic directory,
 * a background writer's command line, or what reaches GitHub outside the Authorization header (the
 * fake's request log: method, path with query, status, login), whatever path a run takes — healthy,
 * 401, 5xx, dropped connections, queued and retried — with GITHUB_TOKEN or GH_TOKEN.
 */

const fakeGitHub = useFakeGitHub(TOKEN);

// Each test has a fake GitHub and an epic directory of its own, and waits on its processes most of the
// time: they run at once (describe.concurrent).
describe.concurrent("the token never leaks", () => {
  it("with GITHUB_TOKEN, through healthy, 401, 5xx, dropped, queued and retried paths (--verbose)", async (test) => {
    await wholeRun(fakeGitHub, "GITHUB_TOKEN", "all", test);
  }, 60_000);

  it("with GH_TOKEN instead of GITHUB_TOKEN, through healthy, 401 and wrong-token paths", async (test) => {
    await wholeRun(fakeGitHub, "GH_TOKEN", "auth", test);
  }, 60_000);
});

describe.concurrent("a token quoted in agents' text", () => {
  it("is masked before it is kept in the run state, shown by status, or posted on the issue", async (test) => {
    const { gh, dir, cli } = await fakeGitHub({ task: taskMd(123, "  min_interval_ms: 0\n"), test });
    expect((await cli("init", "--epic", "E", "--domains", "a,b,c,d")).code).toBe(0);
    const said = `GITHUB_TOKEN=${TOKEN}`;
    for (const args of [
      ["fail", "a", "--error", `curl failed: ${said}`],
      ["log", "b", `env: ${said}`],
      ["complete", "b", "--summary", `done with ${TOKEN}`],
      ["cancel", "c", "--reason", said],
      ["complete", "d"],
      ["finalize", "--summary", `merged; ${said}`],
    ]) {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(0);
    }
    const status = await cli("status", "--json");
    const bodies = gh.comments("acme/widgets", 123).map((c) => c.body);
    expect(bodies).toHaveLength(2);
    for (const text of [status.stdout, ...bodies, await allFileText(dir)]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(TOKEN.slice(4, 20));
    }
    expect(bodies.join("\n")).toContain("merged; GITHUB_TOKEN=***");
  });
});

describe.concurrent("a token given where a name or value goes", () => {
  it("is refused as a domain or epic id (it would be shown on the issue), and no error message echoes it", async (test) => {
    const { gh, dir, cli } = await fakeGitHub({ test });
    const named = "a name may not hold a token or password (it would be shown on the issue)";
    const refused = [
      [["init", "--epic", "E", "--domains", `a,deploy-${TOKEN}`], `--domains: ${named}, got "deploy-***"`],
      [["init", "--epic", `E-${TOKEN}`, "--domains", "a"], `--epic: ${named}, got "E-***"`],
    ] as const;
    for (const [args, line] of refused) {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`parallel-progress: error: ${line}\n`);
    }
    expect(gh.requests).toHaveLength(0);

    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    for (const args of [
      ["update", TOKEN, "--status", "in_progress"],
      ["update", "a", "--status", TOKEN],
      ["update", "a", "--status", "in_progress", "--files", TOKEN],
      ["init", "--epic", "F", "--domains", "b", "--repo", TOKEN, "--force"],
    ]) {
      const result = await cli(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain("***");
      expect(result.stdout + result.stderr, args.join(" ")).not.toContain(TOKEN);
    }
    expect(await allFileText(dir)).not.toContain(TOKEN);
  });
});

describe("a token of no GitHub shape (a GitHub Enterprise or proxy token) given as a value", () => {
  it("is masked in every error and warning line, before the value is shortened", async () => {
    const token = "0123456789abcdef0123456789abcdef01234567";
    const { dir, cleanup } = await makeEpic();
    try {
      const env = { GITHUB_TOKEN: token };
      expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env })).code).toBe(0);
      for (const args of [
        ["update", "a", "--status", "in_progress", "--cost", token],
        ["update", token, "--status", "in_progress"],
        ["update", "a", "--status", token],
        ["update", "a", "--status", "in_progress", "--iteration", `${token}${token}${token}/1`],
        ["init", "--epic", "F", "--domains", "b", "--repo", token, "--force"],
        ["update", "a", "--status", "in_progress", `--${token}`],
        // As a name: refused (a run id made of it would show a part of it), not kept.
        ["init", "--epic", `${token}${token}`, "--domains", "b", "--force"],
        ["add", "--domains", `d-${token}`],
      ]) {
        const result = await runCli([...args, "--dir", dir], { env });
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr, args.join(" ")).toContain("***");
        // Not even its first characters, as a long value's shortened form would show them.
        expect(result.stdout + result.stderr, args.join(" ")).not.toContain(token.slice(0, 12));
      }
    } finally {
      await cleanup();
    }
  });
});

describe("the password of a URL given by --store", () => {
  it("is refused in a domain or epic id (it would be posted), as the environment's token is", async () => {
    const { dir, cleanup } = await makeEpic();
    try {
      const store = "postgres://u:SuperSecret99@127.0.0.1:1/pp";
      for (const args of [
        ["init", "--store", store, "--epic", "pwSuperSecret99", "--domains", "a"],
        ["init", `--store=${store}`, "--epic", "E", "--domains", "a,zSuperSecret99"],
        ["add", "--store", store, "--epic", "E", "--domains", "vSuperSecret99"],
      ]) {
        const result = await runCli([...args, "--dir", dir]);
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr, args.join(" ")).toMatch(/a name may not hold a token or password/);
        expect(result.stdout + result.stderr, args.join(" ")).not.toContain("SuperSecret99");
      }
      // A short one where it stands alone (as messages mask it), and a percent-encoded one as written too.
      const short = "postgres://u:hunt7@127.0.0.1:1/pp";
      const encoded = "postgres://u:p%40ss%2Fw%23rd9@127.0.0.1:1/pp";
      for (const args of [
        ["init", "--store", short, "--epic", "E", "--domains", "a,hunt7"],
        ["init", "--store", short, "--epic", "deploy-hunt7", "--domains", "a"],
        ["init", "--store", encoded, "--epic", "x-p%40ss%2Fw%23rd9", "--domains", "a"],
      ]) {
        const result = await runCli([...args, "--dir", dir]);
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr, args.join(" ")).toMatch(/a name may not hold a token or password/);
      }
      // Inside a word, a short one is another word: not refused as a name (the database is then not found).
      const word = await runCli([
        "init",
        "--store",
        short,
        "--epic",
        "E",
        "--domains",
        "hunt7er",
        "--dir",
        dir,
      ]);
      expect(word.stderr).not.toMatch(/a name may not hold/);
    } finally {
      await cleanup();
    }
  });

  it("short, is no reason to refuse the repository or the API URL, where it is a word (api.github.com)", async () => {
    const { dir, cleanup } = await makeEpic();
    try {
      const env = { PGPASSWORD: "github" };
      const args = ["init", "--epic", "E", "--domains", "a", "--repo", "acme/widgets", "--issue", "1"];
      const result = await runCli([...args, "--dir", dir], { env });
      expect(result.stderr).not.toMatch(/a name may not hold/);
      expect(result.code, result.stderr).toBe(0);
    } finally {
      await cleanup();
    }
  });
});

/** What withGhOnlyToken's test gets: `path` finds the fake gh; `cli` runs in `dir` with it and the fake's URL. */
interface GhOnly {
  gh: FakeGitHub;
  dir: string;
  path: { PATH: string };
  cli: (...args: string[]) => Promise<CliResult>;
}

/**
 * A fake GitHub that knows `token`, an epic folder with task.md for `issue`, and a fake `gh` in it that
 * gives `token` (no environment variable holds one); `test` runs with them, and they are cleaned up after.
 */
async function withGhOnlyToken(
  token: string,
  issue: number,
  test: (setup: GhOnly) => Promise<void>,
): Promise<void> {
  const gh = await startFakeGitHub({ tokens: { [token]: "octo-bot" } });
  const { dir, cleanup } = await makeEpic(taskMd(issue, "  min_interval_ms: 0\n"));
  try {
    const bin = join(dir, "bin");
    await mkdir(bin);
    await writeFile(join(bin, "gh"), `#!/bin/sh\necho ${token}\n`, { mode: 0o755 });
    const path = { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` };
    const env = { ...path, GITHUB_API_URL: gh.url };
    await test({ gh, dir, path, cli: (...args) => runCli([...args, "--dir", dir], { env }) });
  } finally {
    await stopFlushers(dir);
    await gh.close();
    await cleanup();
  }
}

describe("a token of no GitHub shape that only `gh auth token` gives (no GITHUB_TOKEN, no GH_TOKEN)", () => {
  it("is masked in what is posted and queued once a write asked gh for it", async () => {
    const token = "0123456789abcdef0123456789abcdef76543210";
    await withGhOnlyToken(token, 123, async ({ gh, dir, cli }) => {
      expect((await cli("init", "--epic", "E", "--domains", "a,b")).code).toBe(0);
      const quoted = `git push https://x-access-token:${token}@ghe.example.com/acme/widgets failed`;
      expect((await cli("fail", "a", "--error", quoted)).code).toBe(0);
      const posted = gh.comments("acme/widgets", 123).map((c) => c.body);
      expect(posted.join("\n")).toContain("x-access-token:\\*\\*\\*@"); // masked, then escaped as text
      // GitHub down: the post is queued, masked too.
      gh.setFaults({ down: true });
      expect((await cli("log", "b", `token ${token} rejected`)).code).toBe(0);
      expect(await queueFiles(dir)).not.toHaveLength(0);
      const queued = await Promise.all(
        (await queueFiles(dir)).map((name) => readFile(join(dir, ".github_parallel_queue", name), "utf8")),
      );
      for (const text of [...posted, ...queued]) expect(text).not.toContain(token);
      expect(queued.join("\n")).toMatch(/token (\\\\\*){3} rejected/); // escaped as text, in JSON
      // A call that queues without asking GitHub (a rate limit holds the run's writes) asks gh first; and
      // text cut to fit a cell is masked before it is cut (a token's first characters were posted).
      gh.setFaults({
        down: false,
        script: [{ status: 403, headers: { "x-ratelimit-remaining": "0", "retry-after": "600" }, times: 1 }],
      });
      expect((await cli("log", "b", "one more")).code).toBe(0);
      const long = `${"x".repeat(470)} ${token}`;
      expect((await cli("log", "b", long)).code).toBe(0);
      expect((await cli("finalize", "--summary", `merged with ${token}`)).code).toBe(0);
      const later = await Promise.all(
        (await queueFiles(dir)).map((name) => readFile(join(dir, ".github_parallel_queue", name), "utf8")),
      );
      expect(later.some((text) => text.includes("merged with ***"))).toBe(true);
      for (const text of later) {
        expect(text).not.toContain(token.slice(0, 16));
      }
    });
  });
});

describe("a token only gh gives, in the API URL of a call that is not the run's", () => {
  const token = "0123456789abcdef0123456789abcdef76543210";
  it.each([
    ["as written", token],
    ["percent-encoded", `${token.slice(0, 10)}%61${token.slice(11)}`],
  ])(
    "%s, is kept masked in the run's last error and the queue file, and status shows it masked",
    async (_form, written) => {
      await withGhOnlyToken(token, 123, async ({ gh, dir, path }) => {
        const run = (args: string[], apiUrl = gh.url) =>
          runCli([...args, "--dir", dir], { env: { ...path, GITHUB_API_URL: apiUrl } });
        expect((await run(["init", "--epic", "E", "--domains", "a"])).code).toBe(0);
        // Another API for this call (its path holds the token): the post is queued, the token not sent.
        const other = await run(["log", "a", "hi"], `${gh.url}/${written}`);
        expect(other.code, other.stderr).toBe(0);
        // Written now, or by the background writer once the 1 s between writes is over.
        expect(
          await waitFor(async () => (await allFileText(dir)).includes("this call's GitHub API is"), 15_000),
        ).toBe(true);
        expect(await queueFiles(dir)).not.toHaveLength(0);
        for (const kept of [".github_parallel_queue", ".parallel-progress"]) {
          expect(await allFileText(join(dir, kept))).not.toContain(token.slice(11));
        }
        for (const format of [[], ["--json"], ["--markdown"]]) {
          const shown = await run(["status", ...format]);
          expect(shown.stdout + shown.stderr).not.toContain(token.slice(11));
        }
      });
    },
  );
});

describe("a token only gh gives, where a name or a shown run holds it", () => {
  it("is refused in an epic id or a domain (init, add), and masked by status --markdown, the job summary and a call on another API", async () => {
    const token = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    await withGhOnlyToken(token, 124, async ({ gh, dir, path: base }) => {
      const summary = join(dir, "summary.md");
      const env = { ...base, GITHUB_API_URL: gh.url, GITHUB_ACTIONS: "true", GITHUB_STEP_SUMMARY: summary };
      const cli = (args: string[], withEnv: Record<string, string> = env) =>
        runCli([...args, "--dir", dir], { env: withEnv });
      for (const args of [
        ["init", "--epic", token, "--domains", "a"],
        ["init", "--epic", "E", "--domains", `a,x${token}`],
        ["init", "--epic", "E", "--domains", "a", "--repo", `acme/${token}`],
        // In the API URL's path, shaped as a token or not, as written or percent-encoded (kept in the run
        // state and queue files as given).
        ["init", "--epic", "E", "--domains", "a", "--api-url", `${gh.url}/${token}`],
        [
          "init",
          "--epic",
          "E",
          "--domains",
          "a",
          "--api-url",
          `${gh.url}/%${token.charCodeAt(0).toString(16)}${token.slice(1)}`,
        ],
      ]) {
        const refused = await cli(args);
        expect(refused.code, refused.stderr).toBe(2);
        expect(refused.stderr).toMatch(/a name may not hold a token or password.*\*\*\*/);
        expect(refused.stdout + refused.stderr).not.toContain(token.slice(1));
      }
      expect((await cli(["init", "--epic", "E", "--domains", "a,b"])).code).toBe(0);
      const added = await cli(["add", "--domains", `y${token}`]);
      expect(added.code).toBe(2);
      expect(added.stdout + added.stderr).not.toContain(token);
      expect((await cli(["fail", "a", "--error", `env: TOKEN=${token}`])).code).toBe(0);
      const markdown = await cli(["status", "--markdown"]);
      expect(markdown.stdout).toContain("TOKEN=\\*\\*\\*");
      // A call whose API is not the run's (GITHUB_API_URL not given to it): nothing posted, queued masked.
      const elsewhere = await cli(["log", "b", `dump ${token} end`], base);
      expect(elsewhere.code).toBe(0);
      expect(await queueFiles(dir)).not.toHaveLength(0);
      expect(await allFileText(join(dir, ".github_parallel_queue"))).not.toContain(token);
      expect((await cli(["complete", "b"])).code).toBe(0);
      expect((await cli(["finalize", "--summary", `merged ${token}`])).code).toBe(0);
      for (const text of [
        markdown.stdout,
        await readFile(summary, "utf8"),
        await allFileText(join(dir, ".github_parallel_queue")),
      ]) {
        expect(text).not.toContain(token);
      }
      expect(
        gh
          .comments("acme/widgets", 124)
          .map((c) => c.body)
          .join("\n"),
      ).not.toContain(token);
    });
  });
});

describe("a token only gh gives in the names of a run that starts posting later", () => {
  it("is refused when the run is given an issue (its names go into every post and queue file)", async () => {
    const token = "0123456789abcdef0123456789abcdef76543210";
    await withGhOnlyToken(token, 126, async ({ gh, dir, cli }) => {
      await writeFile(join(dir, "task.md"), "# no issue yet\n");
      // Local: gh is not asked, and the epic id is no shape of token.
      expect((await cli("init", "--epic", `E-${token}`, "--domains", "a")).code).toBe(0);
      const before = await readFile(join(dir, ".parallel-progress", "state.json"), "utf8");
      const given = await cli(
        "update",
        "a",
        "--status",
        "in_progress",
        "--issue",
        "126",
        "--repo",
        "acme/widgets",
      );
      expect(given.code, given.stderr).toBe(2);
      expect(given.stderr).toContain("the run starts posting to an issue; start a new run");
      expect(given.stdout + given.stderr).not.toContain(token);
      expect(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8")).toBe(before);
      expect(await queueFiles(dir)).toEqual([]);
      expect(gh.requests).toHaveLength(0);
      // Without the issue the run goes on locally.
      expect((await cli("update", "a", "--status", "in_progress")).code).toBe(0);
      // task.md given the issue: retry (and its dry run) and finalize refuse it too, and post nothing.
      await writeFile(join(dir, "task.md"), taskMd(126));
      for (const args of [["retry", "--dry-run"], ["retry"], ["finalize"]]) {
        const refused = await cli(...args);
        expect(refused.code, `${args.join(" ")}: ${refused.stderr}`).toBe(2);
        expect(refused.stderr).toContain("the run starts posting to an issue; start a new run");
        expect(refused.stdout + refused.stderr).not.toContain(token);
      }
      expect(await queueFiles(dir)).toEqual([]);
      expect(gh.requests).toHaveLength(0);
      const state = JSON.parse(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8"));
      expect(state.completedAt).toBeNull(); // the refused finalize left the run as it was
    });
  });
});

describe("a token only gh gives in the merge summary of a run given its issue by finalize", () => {
  it("is masked before the run state keeps it", async () => {
    const token = "0123456789abcdef0123456789abcdef01234567";
    await withGhOnlyToken(token, 127, async ({ dir, cli }) => {
      await writeFile(join(dir, "task.md"), "# no issue yet\n");
      expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
      expect((await cli("complete", "a")).code).toBe(0);
      const finalize = await cli(
        "finalize",
        "--issue",
        "127",
        "--repo",
        "acme/widgets",
        "--summary",
        `merge ${token}`,
      );
      expect(finalize.code, finalize.stderr).toBe(0);
      expect(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8")).toContain(
        '"mergeSummary":"merge ***"',
      );
    });
  });
});

describe("a token only gh gives, typed where a value goes", () => {
  it("is masked in the error message (asked of gh once the call fails: its own host and the call's API host)", async () => {
    const token = "0123456789abcdef0123456789abcdef76543210";
    await withGhOnlyToken(token, 125, async ({ dir, path }) => {
      const cli = (args: string[], env: Record<string, string> = path) =>
        runCli([...args, "--dir", dir], { env });
      expect((await cli(["init", "--epic", "E", "--domains", "a"], {})).code).toBe(0);
      const failures = [
        [["update", token, "--status", "in_progress"], 'unknown agent "***"'],
        [["update", "a", "--status", token], 'got "***"'],
        [["update", "a", `--x${token}`], "unknown option '--x***'"],
        [[`x${token}`], "unknown command 'x***'"],
      ] as const;
      for (const [args, said] of failures) {
        const failed = await cli([...args]);
        expect(failed.code, failed.stderr).toBe(2);
        expect(failed.stderr).toContain(said);
        expect(failed.stderr).not.toContain(token);
      }
      // task.md edited to hold it (the repository): status's warning of it, and a change's refusal.
      const task = await readFile(join(dir, "task.md"), "utf8");
      await writeFile(join(dir, "task.md"), task.replace("repo: acme/widgets", `repo: acme/${token}`));
      for (const args of [["status"], ["log", "a", "x"]]) {
        const said = await cli(args);
        expect(said.stderr).toContain("acme/***");
        expect(said.stderr).not.toContain(token);
      }
      // A task.md key holding it: warned of as not a setting, masked (gh asked first, the run posts).
      await writeFile(
        join(dir, "task.md"),
        task.replace("repo: acme/widgets", `repo: acme/widgets\n  x${token}: 1`),
      );
      const unread = await cli(["log", "a", "x"]);
      expect(unread.code, unread.stderr).toBe(0);
      expect(unread.stderr).toContain("github.x*** is not a setting");
      expect(unread.stderr).not.toContain(token);
      await writeFile(join(dir, "task.md"), task);
      // Percent-encoded in a refused --api-url: no part of it is shown (the refusal knew no gh token).
      const encoded = [...token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
      const refusedUrl = await cli(["status", "--api-url", `http://h/?${encoded}`]);
      expect(refusedUrl.code).toBe(2);
      expect(refusedUrl.stderr).toContain('got "http://h/***"');
      expect(refusedUrl.stderr).not.toContain(encoded.slice(0, 12));
      // gh is asked for its own host's token and for the call's API host's.
      const calls = join(dir, "gh-calls");
      await writeFile(join(dir, "bin", "gh"), `#!/bin/sh\necho "$@" >> ${calls}\necho ${token}\n`);
      const ghe = await cli(["log", token, "x", "--api-url", "https://ghe.example.com/api/v3"]);
      expect(ghe.stderr).not.toContain(token);
      expect((await readFile(calls, "utf8")).split("\n").sort()).toEqual([
        "",
        "auth token",
        "auth token --hostname ghe.example.com",
      ]);
      // A token in the environment is the one used: gh is not run, and the message is as typed.
      const withEnv = await cli(["log", token, "x"], { ...path, GITHUB_TOKEN: "ghp_elsewhere" });
      expect(withEnv.stderr).toContain(`unknown agent "${token}"`);
    });
  });
});

describe("gh around the CLI's own messages", () => {
  it("is not run for --help or --version, and a word it prints is no token", async () => {
    const { dir, cleanup } = await makeEpic();
    try {
      const calls = join(dir, "gh-calls");
      await writeFile(join(dir, "gh"), `#!/bin/sh\necho "$@" >> ${calls}\necho agent\n`, { mode: 0o755 });
      const env = { PATH: `${dir}${delimiter}${process.env.PATH ?? ""}` };
      for (const args of [["--help"], ["--version"], ["update", "--help"], ["help", "db"]]) {
        expect((await runCli(args, { env })).code).toBe(0);
      }
      expect(await readFile(calls, "utf8").catch(() => "")).toBe("");
      // A failing call asks it; a gh printing one short word (a wrapper's) does not mask that word.
      expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env })).code).toBe(0);
      const failed = await runCli(["update", "nope", "--status", "in_progress", "--dir", dir], { env });
      expect(failed.code).toBe(2);
      expect(failed.stderr).toContain('unknown agent "nope"');
      expect(await readFile(calls, "utf8")).not.toBe("");
    } finally {
      await cleanup();
    }
  });

  it("a database password holding an invisible character is masked in commander's messages", async () => {
    const password = "secretpass\u00a0word9";
    const env = { PGPASSWORD: password };
    const unknownCommand = await runCli([`x-${password}`], { env });
    const unknownOption = await runCli(["status", `--x-${password}`], { env });
    for (const result of [unknownCommand, unknownOption]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("x-***");
      expect(result.stderr).not.toContain("word9");
    }
  });
});

describe("a database password that is a word of the comment (PGPASSWORD=progress)", () => {
  it("masks agents' text, not the comment's own words or its hidden marker (a lookup by marker found nothing)", async (test) => {
    const { gh, env, dir } = await fakeGitHub({ task: taskMd(123, "  min_interval_ms: 0\n"), test });
    const cli = (...args: string[]) =>
      runCli([...args, "--dir", dir], { env: { ...env, PGPASSWORD: "progress" } });
    expect((await cli("init", "--epic", "E", "--domains", "a")).code).toBe(0);
    expect((await cli("log", "a", "PGPASSWORD=progress leaked")).code).toBe(0);
    const [body] = gh.comments("acme/widgets", 123).map((c) => c.body);
    expect(body).toContain("## 🔄 Parallel Execution Progress");
    expect(body).toMatch(/<!-- parallel-progress:progress run=E-\S+ seq=2 -->$/);
    expect(body).toContain("PGPASSWORD=\\*\\*\\* leaked");
  });
});

describe("a token in --repo or GITHUB_REPOSITORY", () => {
  it("is refused (the repository is kept in the run state and queue files and is in every request's path)", async () => {
    const { dir, cleanup } = await makeEpic();
    try {
      const hex = "0123456789abcdef0123456789abcdef01234567";
      for (const [args, env, line] of [
        [
          ["--repo", `acme/${TOKEN}`],
          {},
          '--repo must not hold a token (or another secret of the environment): give owner/name, got "acme/***"',
        ],
        [
          ["--repo", `acme/${hex}`],
          { GITHUB_TOKEN: hex },
          '--repo must not hold a token (or another secret of the environment): give owner/name, got "acme/***"',
        ],
        [
          [],
          { GITHUB_TOKEN: hex, GITHUB_REPOSITORY: `${hex}/widgets` },
          'GITHUB_REPOSITORY must not hold a token (or another secret of the environment): give owner/name, got "***/widgets"',
        ],
      ] as const) {
        const result = await runCli(
          ["init", "--epic", "E", "--domains", "a", "--issue", "5", ...args, "--dir", dir],
          {
            env,
          },
        );
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr).toBe(`parallel-progress: error: ${line}\n`);
      }
      expect(await allFileText(dir)).toBe("");
    } finally {
      await cleanup();
    }
  });
});
