import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { originOnApiHost, sshHostName, webHost } from "../../src/config/origin-host.js";

describe("webHost", () => {
  it("is where an API's repositories live", () => {
    expect(webHost("https://api.github.com")).toBe("github.com");
    expect(webHost("https://API.acme.ghe.com")).toBe("acme.ghe.com");
    expect(webHost("https://ghe.example.com/api/v3")).toBe("ghe.example.com");
    // A GitHub Enterprise Server named api.…: its web host is its own (gh was asked for ghe.corp's token).
    expect(webHost("http://api.ghe.corp/api/v3")).toBe("api.ghe.corp");
    expect(webHost("https://api.example.com:8443/api/v3")).toBe("api.example.com");
    expect(webHost("http://127.0.0.1:8080")).toBe("127.0.0.1");
  });
});

describe("originOnApiHost", () => {
  const aliases = async (alias: string) => ({ "github-work": "github.com" })[alias] ?? null;
  const check = (origin: string, api = "https://api.github.com") => originOnApiHost(origin, api, {}, aliases);

  it("takes an origin on the API's host, whatever its form", async () => {
    for (const origin of [
      "git@github.com:acme/widgets.git",
      "https://github.com/acme/widgets",
      "ssh://git@GitHub.com/acme/widgets.git",
      "ssh://git@ssh.github.com:443/acme/widgets.git",
    ])
      expect(await check(origin), origin).toEqual({ onHost: true });
    expect(await check("git@ghe.example.com:acme/widgets.git", "https://ghe.example.com/api/v3")).toEqual({
      onHost: true,
    });
  });

  it("takes an ssh alias that ssh resolves to the API's host", async () => {
    expect(await check("git@github-work:acme/widgets.git")).toEqual({ onHost: true });
  });

  it("does not take an origin on another host: its repository there is not the one on the API's", async () => {
    expect(await check("git@ghe.example.com:acme/widgets.git")).toEqual({
      onHost: false,
      host: "ghe.example.com",
      apiHost: "github.com",
    });
    expect(await check("https://ghe.example.com/acme/widgets")).toMatchObject({ onHost: false });
    // An https host is not an ssh alias: not looked up.
    expect(await check("https://github-work/acme/widgets")).toMatchObject({ onHost: false });
    expect(await check("git@github.com:acme/widgets.git", "https://ghe.example.com/api/v3")).toMatchObject({
      onHost: false,
      apiHost: "ghe.example.com",
    });
  });
});

describe("sshHostName", () => {
  it("asks ssh -G in the given environment, and never passes what ssh would read as an option", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-ssh-"));
    try {
      // An ssh that answers as `ssh -G` does, for the one alias it knows.
      await writeFile(
        join(dir, "ssh"),
        '#!/bin/sh\n[ "$1" = "-G" ] && [ "$2" = "github-work" ] && printf "user git\\nhostname github.com\\nport 22\\n" && exit 0\nexit 255\n',
      );
      await chmod(join(dir, "ssh"), 0o755);
      const env = { PATH: `${dir}${delimiter}${process.env.PATH ?? ""}` };
      expect(await sshHostName("github-work", env)).toBe("github.com");
      expect(await sshHostName("elsewhere", env)).toBeNull();
      expect(await sshHostName("-oProxyCommand=touch x", env)).toBeNull();
      expect(await sshHostName("github-work", { PATH: join(dir, "none") })).toBeNull(); // no ssh
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
