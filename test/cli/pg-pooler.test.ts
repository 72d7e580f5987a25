import { readdir } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeEpic, runCli, stopFlushers } from "../support/cli.js";

/**
 * A pooler in front of the database that refuses a startup parameter the client sends, as PgBouncer does
 * at its defaults (FATAL 08P01 at the connection's start): a setting to change, not a database that is
 * down. One line, exit 2, nothing kept on the disk, and the advice names the parameters to let through.
 */

/** A FATAL ErrorResponse of the protocol with `code` and `message`. */
function fatal(code: string, message: string): Buffer {
  const fields = [
    ["S", "FATAL"],
    ["V", "FATAL"],
    ["C", code],
    ["M", message],
  ];
  const body = Buffer.concat([...fields.map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from("\0")]);
  const head = Buffer.alloc(5);
  head.write("E");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * A loopback server answering the startup packet as a pooler that knows only user, database,
 * application_name and client_encoding: the first other parameter is refused with `refusal(name, value)`.
 */
async function pooler(
  refusal: (name: string, value: string) => string,
): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    let received = Buffer.alloc(0);
    socket.on("error", () => socket.destroy());
    socket.on("data", (data) => {
      received = Buffer.concat([received, data]);
      if (received.length < 8 || received.length < received.readInt32BE(0)) return;
      const length = received.readInt32BE(0);
      if (received.readInt32BE(4) === 80877103) {
        socket.write("N"); // SSLRequest: no TLS here
        received = received.subarray(8);
        return;
      }
      const words = received.subarray(8, length).toString().split("\0");
      for (let i = 0; i + 1 < words.length; i += 2) {
        const [name, value] = [words[i]!, words[i + 1]!];
        if (name && !["user", "database", "application_name", "client_encoding"].includes(name)) {
          socket.end(fatal("08P01", refusal(name, value)));
          return;
        }
      }
      socket.end(fatal("08P01", "no such user")); // not reached: the client sends options
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return { url: `postgresql://agent:pw@127.0.0.1:${address.port}/progress`, server };
}

describe("a pooler that refuses a startup parameter", () => {
  const servers: Server[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let poolers: { name: string; url: string }[] = [];

  beforeAll(async () => {
    // PgBouncer before 1.20, and at 1.20+ for an `options` holding a setting it does not track.
    const old = await pooler((name) => `unsupported startup parameter: ${name}`);
    const recent = await pooler((name, value) =>
      name === "options" && /search_path=/.test(value)
        ? "unsupported options startup parameter: parameter search_path"
        : `unsupported startup parameter: ${name}`,
    );
    servers.push(old.server, recent.server);
    poolers = [
      { name: "older PgBouncer", url: old.url },
      { name: "PgBouncer 1.20+", url: recent.url },
    ];
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it("is a setting to change: one line, exit 2, nothing kept, the parameters named", async () => {
    for (const { name, url } of poolers) {
      const { dir, cleanup } = await makeEpic();
      cleanups.push(async () => {
        await stopFlushers(dir);
        await cleanup();
      });
      for (const command of [
        ["update", "api", "--status", "in_progress", "--files", "1/2", "--epic", "E1"],
        ["init", "--epic", "E9", "--domains", "a"],
        ["status", "--epic", "E1"],
        ["db", "status"],
      ]) {
        const result = await runCli([...command, "--store", url, "--dir", dir]);
        expect(result.code, `${name} ${command[0]}: ${result.stderr}`).toBe(2);
        expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
        expect(result.stderr).toMatch(/unsupported (options )?startup parameter/);
        expect(result.stderr).toContain("add options, statement_timeout to its ignore_startup_parameters");
        expect(result.stderr).toContain("revoke CREATE on schema public");
        expect(result.stderr).not.toContain(":pw@");
      }
      expect(await readdir(dir, { recursive: true })).toEqual([]);
    }
  });
});
