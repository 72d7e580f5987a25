import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveApiUrl } from "../../src/config/resolve.js";
import { quote } from "../../src/config/show-value.js";
import { UsageError } from "../../src/errors.js";
import { applyProgress, createRun } from "../../src/model/run.js";
import { GITHUB_TARGET as github } from "../render/fixtures.js";
import { allFileText, makeEpic, runCli } from "../support/cli.js";

/** Issue 11, item 9: completed means every file done; no credentials on disk; "no run here" says where. */

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

async function epic(task?: string): Promise<string> {
  const made = await makeEpic(task);
  cleanup = made.cleanup;
  return made.dir;
}

const at = Date.parse("2025-10-19T16:30:00Z");

describe("a completed agent has every file done", () => {
  const run = () => createRun({ epicId: "E", domains: ["a"], now: at, github, nonce: "00" });

  it("completed without counts sets done to the total; with fewer done it is refused", () => {
    const started = applyProgress(
      run(),
      "a",
      { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
      at,
    );
    expect(applyProgress(started, "a", { status: "completed" }, at).agents["impl-a-163000"]).toMatchObject({
      filesCompleted: 2,
      filesTotal: 2,
    });
    expect(
      applyProgress(started, "a", { status: "completed", filesTotal: 5 }, at).agents["impl-a-163000"],
    ).toMatchObject({ filesCompleted: 5, filesTotal: 5 });
    expect(() =>
      applyProgress(started, "a", { status: "completed", filesCompleted: 1, filesTotal: 2 }, at),
    ).toThrow(UsageError);
  });

  it("on the command line: exit 2 and the run untouched, or 100%", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir])).code).toBe(0);
    expect(
      (await runCli(["update", "a", "--status", "in_progress", "--files", "1/2", "--dir", dir])).code,
    ).toBe(0);
    const refused = await runCli(["update", "a", "--status", "completed", "--files", "1/2", "--dir", dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      "parallel-progress: error: --files 1/2 with --status completed: a completed agent has every file done; give 2/2, or no files, or use `complete`\n",
    );
    // Refused before the store is reached: with a database that does not answer, nothing is kept to be
    // refused later.
    const unreachable = ["--store", "postgresql://u:pw@127.0.0.1:1/db", "--epic", "E"];
    const down = await runCli([
      "update",
      "a",
      "--status",
      "completed",
      "--files",
      "1/2",
      ...unreachable,
      "--dir",
      dir,
    ]);
    expect(down.code).toBe(2);
    expect(down.stderr).toBe(refused.stderr);
    expect(existsSync(join(dir, ".parallel-progress", "pending"))).toBe(false);
    const before = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout);
    expect(before.agents[0]).toMatchObject({
      status: "in_progress",
      filesCompleted: 1,
      filesTotal: 2,
      progress: 50,
    });
    expect((await runCli(["update", "a", "--status", "completed", "--dir", dir])).code).toBe(0);
    const after = JSON.parse((await runCli(["status", "--json", "--dir", dir])).stdout);
    expect(after.agents[0]).toMatchObject({
      status: "completed",
      filesCompleted: 2,
      filesTotal: 2,
      progress: 100,
    });
  });
});

describe("credentials in the API URL", () => {
  it("are refused, shown masked", () => {
    for (const url of ["https://user:hunter2@ghe.example/api/v3", "https://tok3n@ghe.example/api/v3"]) {
      expect(() => resolveApiUrl(undefined, { GITHUB_API_URL: url })).toThrow(
        'GITHUB_API_URL must not hold credentials (user:password@): give the token in GITHUB_TOKEN or GH_TOKEN, got "https://***@ghe.example/api/v3"',
      );
      expect(() => resolveApiUrl(url, {})).toThrow(/^--api-url must not hold credentials/);
    }
    expect(() => resolveApiUrl("https://user:hunter2@ghe example", {})).toThrow(
      '--api-url must be an http(s) URL such as https://api.github.com, got "https://***@ghe example"',
    );
  });

  it("the environment's token anywhere in it is refused, and shown masked", () => {
    for (const token of ["plainsecret123", "0123456789abcdef0123456789abcdef01234567"]) {
      const env = { GITHUB_TOKEN: token };
      expect(() => resolveApiUrl(`https://api.github.com/?access_token=${token}`, env)).toThrow(
        '--api-url must be an http(s) URL such as https://api.github.com, got "https://api.github.com/***"',
      );
      // Refused for another reason, percent-encoded: shown as its origin (or scheme) alone, never decoded.
      const hidden = `%${token.charCodeAt(0).toString(16)}${token.slice(1)}`;
      for (const [url, shown] of [
        [`https://api.github.com/?t=${hidden}`, "https://api.github.com/***"],
        [`https://api.github.com/api#${hidden}`, "https://api.github.com/***"],
        [`ftp://127.0.0.1/${hidden}`, "ftp://127.0.0.1/***"],
        [`http://[zz/${hidden}`, "http://[zz/***"],
        [`http://127.0.0.1:99999/${hidden}`, "http://127.0.0.1:99999/***"],
        [`https://${hidden}.example.com/?x=1`, "https://***"],
        [`not a url ${hidden}`, "***"],
        [`https://u:${hidden}@ghe.example.com/`, "https://***"],
      ]) {
        for (const [given, source] of [
          [url, "--api-url"],
          [undefined, "GITHUB_API_URL"],
        ] as const) {
          const message = (() => {
            try {
              resolveApiUrl(given, { ...env, GITHUB_API_URL: url! });
            } catch (error) {
              return (error as Error).message;
            }
            return "";
          })();
          expect(message).toMatch(new RegExp(`^${source} must `));
          expect(message.endsWith(`got "${shown}"`), message).toBe(true);
        }
      }
      expect(() => resolveApiUrl(`http://host/${token}/api/v3`, env)).toThrow(
        '--api-url must not hold a token (or another secret of the environment): give the token in GITHUB_TOKEN or GH_TOKEN only, got "http://host/***"',
      );
      // Percent-encoded, with a stray `%ZZ` before it too: refused, and no part of it shown.
      const encoded = [...token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
      for (const path of [`${encoded.slice(0, 3)}${token.slice(1)}`, `%ZZ/${encoded}`]) {
        expect(() => resolveApiUrl(`http://host/${path}/api/v3`, env)).toThrow(
          '--api-url must not hold a token (or another secret of the environment): give the token in GITHUB_TOKEN or GH_TOKEN only, got "http://host/***"',
        );
      }
      expect(() => resolveApiUrl(undefined, { ...env, GITHUB_API_URL: `http://host/${token}` })).toThrow(
        /^GITHUB_API_URL must not hold a token/,
      );
    }
    // A secret in the host, in mixed case: masked as typed (the URL's own host is in lower case).
    expect(() =>
      resolveApiUrl("https://Sup3rPgPassWd.ghe.example.com/api/v3", { PGPASSWORD: "Sup3rPgPassWd" }),
    ).toThrow(
      '--api-url must not hold a token (or another secret of the environment): give the token in GITHUB_TOKEN or GH_TOKEN only, got "https://***"',
    );
    // A lower-case token typed in upper case in the host (kept in lower case), or encoded there.
    const hex = "abcdef0123456789abcdef0123456789abcdef01";
    for (const host of [hex.toUpperCase(), `%61${hex.slice(1)}`]) {
      expect(() => resolveApiUrl(`http://${host}.example.com/`, { GITHUB_TOKEN: hex })).toThrow(
        '--api-url must not hold a token (or another secret of the environment): give the token in GITHUB_TOKEN or GH_TOKEN only, got "http://***"',
      );
    }
    // A short token is no reason to refuse a URL that happens to hold its letters.
    expect(resolveApiUrl("http://abc.example/api", { GITHUB_TOKEN: "abc" })).toBe("http://abc.example/api");
  });

  it("a token in the --api-url path: exit 2, nothing written", async () => {
    const dir = await epic("---\ngithub:\n  issue_number: 5\n  repo: acme/widgets\n---\n");
    const token = "plainsecret123";
    const args = ["init", "--epic", "E", "--domains", "a", "--api-url", `http://127.0.0.1:9/${token}/api`];
    const result = await runCli([...args, "--dir", dir], { env: { GITHUB_TOKEN: token } });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain(token);
    expect(await allFileText(dir)).not.toContain(token);
  });

  it("never reach the run state or the queue: exit 2, nothing written", async () => {
    const dir = await epic("---\ngithub:\n  issue_number: 5\n  repo: acme/widgets\n---\n");
    const env = { GITHUB_API_URL: "http://user:hunter2@127.0.0.1:9/api", GITHUB_TOKEN: "t" };
    const result = await runCli(["init", "--epic", "E", "--domains", "a", "--dir", dir], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain("hunter2");
    expect(result.stderr).toContain("GITHUB_API_URL must not hold credentials");
    expect(await allFileText(dir)).not.toContain("hunter2");
  });
});

describe("no run here", () => {
  it("names the directory it looked in", async () => {
    const dir = await epic();
    const result = await runCli(["update", "a", "--status", "in_progress", "--dir", dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`no run here (${dir}): start one with`);
  });

  it("shows a directory's control characters escaped, and a name too long for the system shortened: one line", async () => {
    const dir = await epic();
    const odd = await runCli(["status", "--dir", join(dir, "a\nb\u001b[2J")]);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toBe(
      `parallel-progress: error: no run here (${dir}/a\\u000ab\\u001b[2J): start one with \`parallel-progress init --epic <id> --domains <a,b,c>\`, or pass --dir\n`,
    );
    const long = await runCli(["status", "--dir", join(dir, "x".repeat(100_000))]);
    expect(long.code).toBe(2); // the caller's path, too long for the system: said before anything is done
    expect(long.stderr).toBe(
      `parallel-progress: error: --dir: a name in the path is longer than 255 bytes, got ${quote(join(dir, "x".repeat(100_000)))}\n`,
    );
    expect(long.stderr.length).toBeLessThan(200);
  });
});

describe("history", () => {
  it("narrows to the epic as every command names it: --epic, else PARALLEL_PROGRESS_EPIC", async () => {
    const dir = await epic();
    expect((await runCli(["init", "--epic", "E-1", "--domains", "a", "--dir", dir])).code).toBe(0);
    const listed = async (args: string[], env: Record<string, string> = {}) => {
      const result = await runCli(["history", "--json", "--dir", dir, ...args], { env });
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { epicId: string }[]).map((entry) => entry.epicId);
    };
    expect(await listed([])).toEqual(["E-1"]);
    expect(await listed([], { PARALLEL_PROGRESS_EPIC: "OTHER" })).toEqual([]);
    expect(await listed(["--epic", "E-1"], { PARALLEL_PROGRESS_EPIC: "OTHER" })).toEqual(["E-1"]);
    const bad = await runCli(["history", "--dir", dir, "--epic", "E\u0085"]);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      'parallel-progress: error: --epic must be 1 to 200 printable characters, got "E\\u0085"\n',
    ]);
    // --limit takes digits, as every whole-number option (an exponent or hex is refused as --cost's is).
    for (const limit of ["1e3", "0x10", "+5", "5.0"]) {
      const refused = await runCli(["history", "--dir", dir, "--limit", limit]);
      expect([refused.code, refused.stderr]).toEqual([
        2,
        `parallel-progress: error: --limit must be a whole number from 1 to 10000, got "${limit}"\n`,
      ]);
    }
    expect((await runCli(["history", "--dir", dir, "--limit", " 7 "])).code).toBe(0);
  });
});
