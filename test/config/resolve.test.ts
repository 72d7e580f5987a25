import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it, vi } from "vitest";
import { sameApi } from "../../src/config/api-url.js";
import {
  ghAuthToken,
  parseGitConfigValue,
  parseGitRemoteUrl,
  readOriginUrl,
  resolveApiUrl,
  resolveRepo,
  resolveToken,
  tokenProblem,
} from "../../src/config/resolve.js";
import { UsageError } from "../../src/errors.js";
import type { FileSystem } from "../../src/util/io.js";

describe("resolveToken", () => {
  it("prefers GITHUB_TOKEN, then GH_TOKEN, without asking gh", async () => {
    const gh = vi.fn(async () => "from-gh");
    await expect(resolveToken({ GITHUB_TOKEN: " a ", GH_TOKEN: "b" }, gh)).resolves.toEqual({
      token: "a",
      source: "GITHUB_TOKEN",
    });
    await expect(resolveToken({ GITHUB_TOKEN: "  ", GH_TOKEN: "b\n" }, gh)).resolves.toEqual({
      token: "b",
      source: "GH_TOKEN",
    });
    expect(gh).not.toHaveBeenCalled();
  });

  it("falls back to gh auth token", async () => {
    const gh = vi.fn(async () => "from-gh\n");
    await expect(resolveToken({ GITHUB_TOKEN: "" }, gh)).resolves.toEqual({
      token: "from-gh",
      source: "gh auth token",
    });
    expect(gh).toHaveBeenCalledTimes(1);
  });

  it("returns null when there is none, even when gh fails", async () => {
    await expect(resolveToken({}, async () => null)).resolves.toBeNull();
    await expect(resolveToken({}, async () => "")).resolves.toBeNull();
    await expect(resolveToken({}, () => Promise.reject(new Error("boom")))).resolves.toBeNull();
  });

  it("ghAuthToken never throws", async () => {
    const token = await ghAuthToken({ hostname: "nonexistent.invalid" });
    expect(token === null || typeof token === "string").toBe(true);
  });
});

describe("tokenProblem", () => {
  it.each([
    ["ghp_0123456789abcdefghijABCDEFGHIJ!#$%", null],
    ["github_pat_11AAAA_bbbb", null],
    ["sécret", "a character outside ASCII"],
    ["ghp_abc…", "a character outside ASCII"],
    ["ghp\u00a0abc", "a character outside ASCII"],
    ["ghp_two words", "a space"],
    ["ghp_tab\tbed", "a control character"],
    ["ghp_c1\u0085", "a control character"],
    ["ghp_del\u007f", "a control character"],
  ])("%j → %j", (token, expected) => {
    expect(tokenProblem(token)).toBe(expected);
  });
});

describe("API URLs kept and compared as the same GitHub", () => {
  it("keeps scheme and host in lower case, without the default port or a trailing slash", () => {
    expect(resolveApiUrl("HTTPS://GHE.Example.com:443/api/v3/", {})).toBe("https://ghe.example.com/api/v3");
    expect(resolveApiUrl("http://LOCALHOST:80", {})).toBe("http://localhost");
    expect(resolveApiUrl("http://127.0.0.1:8080/Api", {})).toBe("http://127.0.0.1:8080/Api");
  });

  it("compares one kept by an older build (as typed) with its canonical form", () => {
    expect(sameApi("https://API.github.com", "https://api.github.com")).toBe(true);
    expect(sameApi("https://api.github.com:443/", "https://api.github.com")).toBe(true);
    expect(sameApi("https://api.github.com", "http://api.github.com")).toBe(false);
    expect(sameApi("https://ghe.example.com/api/v3", "https://ghe.example.com/API/v3")).toBe(false);
  });

  it("refuses a URL holding anything shaped like a token, as --repo does (it would be written to disk)", () => {
    const shaped = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    for (const url of [`http://127.0.0.1:9/${shaped}`, `http://127.0.0.1:9/%67${shaped.slice(1)}`]) {
      expect(() => resolveApiUrl(url, {})).toThrow(
        /must not hold a token.*got "http:\/\/127\.0\.0\.1:9\/\*\*\*"$/,
      );
    }
  });

  it("refuses a URL holding the environment's token percent-encoded", () => {
    const token = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
    const encoded = `http://127.0.0.1:9/%67${token.slice(1)}`;
    expect(() => resolveApiUrl(encoded, { GITHUB_TOKEN: token })).toThrow(/must not hold a token/);
  });
});

describe("resolveApiUrl", () => {
  it("takes the flag, then GITHUB_API_URL, then api.github.com, without trailing slash", () => {
    expect(resolveApiUrl("https://ghe.example.com/api/v3/", { GITHUB_API_URL: "https://x" })).toBe(
      "https://ghe.example.com/api/v3",
    );
    expect(resolveApiUrl(undefined, { GITHUB_API_URL: "http://127.0.0.1:8080//" })).toBe(
      "http://127.0.0.1:8080",
    );
    expect(resolveApiUrl(undefined, { GITHUB_API_URL: " " })).toBe("https://api.github.com");
    expect(resolveApiUrl(undefined, {})).toBe("https://api.github.com");
  });

  it("rejects what is not an http(s) URL, naming the source and the value", () => {
    expect(() => resolveApiUrl("ftp://x", {})).toThrow(
      new UsageError('--api-url must be an http(s) URL such as https://api.github.com, got "ftp://x"'),
    );
    expect(() => resolveApiUrl("api.github.com", {})).toThrow(/got "api\.github\.com"$/);
    expect(() => resolveApiUrl(undefined, { GITHUB_API_URL: "nope" })).toThrow(
      /^GITHUB_API_URL must be .*got "nope"$/,
    );
    expect(() => resolveApiUrl("https://x/?a=1", {})).toThrow(UsageError);
  });

  // A password may hold any character (a generated one often a `/`): where the authority ends cannot be
  // told from a URL that does not parse, so everything up to the last `@` is masked.
  it("never shows a password holding /, ?, # or \\, whether or not the URL parses", () => {
    for (const password of ["hun/ter2", "hun?ter2", "hun#ter2", "hun\\ter2", "a/b@c"]) {
      const url = `https://user:${password}@ghe.example.com/api/v3`;
      const message = (() => {
        try {
          resolveApiUrl(undefined, { GITHUB_API_URL: url });
        } catch (error) {
          return (error as Error).message;
        }
        return "";
      })();
      expect(message).toMatch(/^GITHUB_API_URL must /);
      expect(message).toContain('"https://***@ghe.example.com/api/v3"');
      expect(message).not.toContain("hun");
      expect(message).not.toContain("ter2");
    }
  });
});

describe("resolveRepo", () => {
  const origin = "git@github.com:from/origin.git";

  it("follows --repo, task.md, GITHUB_REPOSITORY, origin", () => {
    const env = { GITHUB_REPOSITORY: "from/env" };
    expect(resolveRepo({ flag: "from/flag", taskRepo: "from/task", env, originUrl: origin })).toEqual({
      repo: "from/flag",
      source: "--repo",
    });
    expect(resolveRepo({ flag: undefined, taskRepo: "from/task", env, originUrl: origin })).toEqual({
      repo: "from/task",
      source: "task.md",
    });
    expect(resolveRepo({ taskRepo: null, env, originUrl: origin })).toEqual({
      repo: "from/env",
      source: "GITHUB_REPOSITORY",
    });
    expect(resolveRepo({ env: {}, originUrl: origin })).toEqual({
      repo: "from/origin",
      source: "git origin",
    });
    expect(resolveRepo({ env: {}, originUrl: "/local/path" })).toBeNull();
    expect(resolveRepo({ env: {}, originUrl: null })).toBeNull();
  });

  it("rejects a bad --repo or GITHUB_REPOSITORY", () => {
    expect(() => resolveRepo({ flag: "x", env: {} })).toThrow(
      new UsageError('--repo must be owner/name, got "x"'),
    );
    expect(() => resolveRepo({ flag: "a/b/c", env: {} })).toThrow(UsageError);
    expect(() => resolveRepo({ flag: "-a/b", env: {} })).toThrow(UsageError);
    expect(() => resolveRepo({ flag: "a/..", env: {} })).toThrow(UsageError);
    expect(() => resolveRepo({ env: { GITHUB_REPOSITORY: "bad" } })).toThrow(
      'GITHUB_REPOSITORY must be owner/name, got "bad"',
    );
  });
});

describe("parseGitRemoteUrl", () => {
  it("reads every remote form", () => {
    const forms = [
      "https://github.com/o/r",
      "https://github.com/o/r.git",
      "https://github.com/o/r/",
      "http://github.com/o/r.git",
      "https://user@github.com/o/r.git",
      "https://user:token@github.com/o/r",
      "git@github.com:o/r.git",
      "git@github.com:o/r",
      "github.com:o/r.git",
      "ssh://git@github.com/o/r.git",
      "ssh://git@github.com:22/o/r.git",
      "git+ssh://git@github.com/o/r.git",
      "git://github.com/o/r.git",
      "https://ghe.example.com/o/r.git",
      "git@ghe.example.com:o/r.git",
      "ssh://git@ghe.example.com:2222/o/r",
      " https://github.com/o/r.git\n",
    ];
    for (const url of forms) expect(parseGitRemoteUrl(url), url).toBe("o/r");
    expect(parseGitRemoteUrl("git@github.com:my-org/my.repo_1.git")).toBe("my-org/my.repo_1");
  });

  it("returns null for what is not owner/name on a host", () => {
    for (const url of [
      "",
      "/srv/git/r.git",
      "../sibling",
      "file:///srv/git/o/r.git",
      "C:/repos/o/r",
      "https://github.com/o",
      "https://gitlab.com/group/sub/r.git",
      "not a url",
    ]) {
      expect(parseGitRemoteUrl(url), url).toBeNull();
    }
  });
});

describe("parseGitConfigValue", () => {
  it("reads quoted, commented and case-folded values from the right section", () => {
    const config = [
      "[core]",
      "\turl = https://github.com/not/this",
      '[remote "upstream"]',
      "\turl = git@github.com:up/stream.git",
      '[Remote "origin"]',
      '\tURL = "git@github.com:o/r.git" ; comment',
      "\tfetch = +refs/heads/*:refs/remotes/origin/*",
    ].join("\n");
    expect(parseGitConfigValue(config, "remote", "origin", "url")).toBe("git@github.com:o/r.git");
    expect(parseGitConfigValue("[remote.origin]\nurl = https://h/o/r # c\n", "remote", "origin", "url")).toBe(
      "https://h/o/r",
    );
    expect(parseGitConfigValue('[remote "Origin"]\nurl = x\n', "remote", "origin", "url")).toBeNull();
  });
});

describe("readOriginUrl", () => {
  const config = (url: string) =>
    `[core]\n\tbare = false\n[remote "origin"]\n\turl = ${url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`;
  const make = (files: Record<string, string>) =>
    createFsFromVolume(Volume.fromJSON(files)) as unknown as FileSystem;

  it("walks up to the checkout's .git directory", async () => {
    const fs = make({ "/repo/.git/config": config("git@github.com:o/r.git"), "/repo/epics/e1/task.md": "" });
    await expect(readOriginUrl(fs, "/repo/epics/e1")).resolves.toBe("git@github.com:o/r.git");
    await expect(readOriginUrl(fs, "/repo")).resolves.toBe("git@github.com:o/r.git");
  });

  it("follows a worktree's .git file and commondir to the shared config", async () => {
    const fs = make({
      "/main/.git/config": config("https://github.com/o/r.git"),
      "/main/.git/worktrees/wt/commondir": "../..\n",
      "/main/.git/worktrees/wt/HEAD": "ref: refs/heads/wt\n",
      "/wt/.git": "gitdir: /main/.git/worktrees/wt\n",
      "/wt/epics/e1/task.md": "",
    });
    await expect(readOriginUrl(fs, "/wt/epics/e1")).resolves.toBe("https://github.com/o/r.git");
  });

  it("follows a submodule's relative gitdir", async () => {
    const fs = make({
      "/super/.git/config": config("https://github.com/super/project"),
      "/super/.git/modules/sub/config": config("https://github.com/sub/module"),
      "/super/sub/.git": "gitdir: ../.git/modules/sub\n",
      "/super/sub/dir/x": "",
    });
    await expect(readOriginUrl(fs, "/super/sub/dir")).resolves.toBe("https://github.com/sub/module");
  });

  it("returns null without a checkout, an origin or a readable config", async () => {
    await expect(readOriginUrl(make({ "/plain/dir/x": "" }), "/plain/dir")).resolves.toBeNull();
    await expect(
      readOriginUrl(make({ "/r/.git/config": "[core]\n", "/r/d/x": "" }), "/r/d"),
    ).resolves.toBeNull();
    await expect(readOriginUrl(make({ "/r/.git/HEAD": "", "/r/d/x": "" }), "/r/d")).resolves.toBeNull();
    await expect(readOriginUrl(make({ "/r/.git": "garbage", "/r/d/x": "" }), "/r/d")).resolves.toBeNull();
  });
});
