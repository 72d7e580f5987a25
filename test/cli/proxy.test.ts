import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queueFiles, runCli } from "../support/cli.js";
import { useFakeGitHub } from "../support/harness.js";
import { silentServer } from "../support/loopback.js";
import { hasTinyproxy, selfSignedCertificate, startTinyproxy, type Tinyproxy } from "../support/tinyproxy.js";

const TOKEN = "ghp_proxytesttoken0123456789abcdefghijklmn";
const fakeGitHub = useFakeGitHub(TOKEN);
const progress = (files: string) => ["--status", "in_progress", "--files", files];

/** The CLI through a real proxy (tinyproxy on loopback): what went through it, what did not. */
describe.skipIf(!hasTinyproxy)("HTTPS_PROXY, HTTP_PROXY and NO_PROXY through tinyproxy", () => {
  let proxy: Tinyproxy;
  let certDir: string;
  let tls: { key: string; cert: string; certFile: string };
  beforeAll(async () => {
    proxy = await startTinyproxy();
    certDir = await mkdtemp(join(tmpdir(), "pp-cert-"));
    tls = await selfSignedCertificate(certDir);
  });
  afterAll(async () => {
    await proxy?.stop();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  it("sends an http API's requests to the proxy, and straight to GitHub for a host NO_PROXY lists", async () => {
    const { gh, dir, env } = await fakeGitHub();
    const cli = (extra: Record<string, string>, ...args: string[]) =>
      runCli([...args, "--dir", dir, "--min-interval", "0"], { env: { ...env, ...extra } });
    const before = (await proxy.requests()).length;

    const init = await cli({ HTTP_PROXY: proxy.url }, "init", "--epic", "E", "--domains", "api");
    expect([init.code, init.stderr]).toEqual([0, ""]);
    const through = (await proxy.requests()).slice(before);
    // Every request GitHub received came through the proxy, as an absolute URL (as curl sends it).
    expect(gh.requests.length).toBeGreaterThan(0);
    expect(through).toEqual(gh.requests.map((r) => `${r.method} ${gh.url}${r.path} HTTP/1.1`));

    // Lower case wins: http_proxy names the proxy although HTTP_PROXY points nowhere.
    const lower = await cli(
      { http_proxy: proxy.url, HTTP_PROXY: "http://127.0.0.1:9" },
      "update",
      "api",
      ...progress("1/9"),
    );
    expect([lower.code, lower.stderr]).toEqual([0, ""]);
    const proxied = (await proxy.requests()).length;
    expect(proxied).toBeGreaterThan(before + through.length);

    // One NO_PROXY form through a process; each form (host, host:port, CIDR, `*` in a list) is matched
    // in-process in test/github/proxy.test.ts.
    const noProxy = `127.0.0.1:${new URL(gh.url).port}`;
    const reached = gh.requests.length;
    const bypass = await cli(
      { HTTP_PROXY: proxy.url, NO_PROXY: noProxy },
      "update",
      "api",
      ...progress("2/9"),
    );
    expect([bypass.code, bypass.stderr]).toEqual([0, ""]);
    expect(gh.requests.length).toBeGreaterThan(reached); // the update reached GitHub...
    expect((await proxy.requests()).length).toBe(proxied); // ...without the proxy
  });

  it("tunnels an https API through CONNECT: the proxy sees neither the requests nor the token", async () => {
    const { gh, dir, env } = await fakeGitHub({ fake: { tls } });
    expect(gh.url).toMatch(/^https:/);
    const cli = (...args: string[]) =>
      runCli([...args, "--dir", dir, "--min-interval", "0"], {
        env: { ...env, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: tls.certFile },
      });
    const before = (await proxy.requests()).length;
    const logBefore = (await proxy.log()).length;

    expect(await cli("init", "--epic", "E", "--domains", "api")).toMatchObject({ code: 0, stderr: "" });
    expect(await cli("complete", "api")).toMatchObject({ code: 0, stderr: "" });
    expect(await cli("finalize", "--summary", "merged")).toMatchObject({ code: 0, stderr: "" });

    expect(gh.comments("acme/widgets", 123)).toHaveLength(2); // the progress comment and the final summary
    const lines = (await proxy.requests()).slice(before);
    expect(lines.length).toBeGreaterThan(0);
    const host = new URL(gh.url).host;
    expect(lines.every((line) => line === `CONNECT ${host} HTTP/1.1`)).toBe(true);
    const log = (await proxy.log()).slice(logBefore);
    expect(log).toContain("CONNECT");
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain("/repos/");
  });

  it("trusts a certificate from NODE_EXTRA_CA_CERTS without a proxy, and explains one it does not trust", async () => {
    const { gh, dir, env } = await fakeGitHub({ fake: { tls } });
    const trusted = await runCli(["init", "--epic", "E", "--domains", "api", "--dir", dir], {
      env: { ...env, NODE_EXTRA_CA_CERTS: tls.certFile },
    });
    expect([trusted.code, trusted.stderr]).toEqual([0, ""]);
    expect(gh.comments("acme/widgets", 123)).toHaveLength(1);

    // Without NODE_EXTRA_CA_CERTS the certificate is refused (NO_PROXY: straight there, the proxy unused).
    const proxied = (await proxy.requests()).length;
    const untrusted = await runCli(
      ["update", "api", ...progress("1/2"), "--dir", dir, "--min-interval", "0"],
      {
        env: { ...env, HTTPS_PROXY: proxy.url, NO_PROXY: "127.0.0.1" },
      },
    );
    expect(untrusted.code).toBe(0);
    expect(untrusted.stderr).toMatch(/TLS certificate of https:\/\/127\.0\.0\.1:\d+ was not accepted/);
    expect(untrusted.stderr).toContain("NODE_EXTRA_CA_CERTS");
    expect(untrusted.stderr).not.toContain(TOKEN);
    expect((await proxy.requests()).length).toBe(proxied);
  });
});

/**
 * A proxy that takes the connection and never answers the CONNECT (a stuck corporate proxy): the command
 * gives up on GitHub by its deadline, queues the post and ends. The open connection to the proxy used to
 * keep the process alive until the proxy hung up. Nothing reached GitHub: the post is not held as one that
 * may have been created (it was, and the next write waited for it to appear).
 */
describe("a proxy that never answers the CONNECT", () => {
  it("does not keep the command running: warned, queued, exit 0", async () => {
    const silent = await silentServer();
    const { port } = silent;
    try {
      const { dir, env } = await fakeGitHub();
      const init = await runCli(["init", "--epic", "E", "--domains", "api", "--dir", dir], {
        env: {
          ...env,
          GITHUB_API_URL: "https://api.github.example",
          HTTPS_PROXY: `http://127.0.0.1:${port}`,
        },
      });
      expect(init.code).toBe(0); // null: still running when the harness killed it
      expect(init.stderr).toContain(
        `the proxy http://127.0.0.1:${port} (HTTPS_PROXY) did not open a connection to https://api.github.example within`,
      );
      expect(init.stderr).not.toContain("may have been created");
      expect(await queueFiles(dir)).toHaveLength(1);
      const state = JSON.parse(await readFile(join(dir, ".parallel-progress/state.json"), "utf8"));
      expect(state.sync.unsureCreate).toBeNull();
    } finally {
      await silent.close();
    }
  }, 60_000);
});
