import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeEpic, runCli, stopFlushers } from "../support/cli.js";
import { closedPort } from "../support/loopback.js";

/**
 * A store URL that is wrong is the caller's mistake, seen before any connection: one line, exit 2,
 * nothing kept on the disk for later (a database that does not answer would keep the change), and never
 * the password, whatever it holds.
 */

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function call(args: string[], env: Record<string, string> = {}) {
  const { dir, cleanup } = await makeEpic();
  cleanups.push(async () => {
    await stopFlushers(dir); // of a change kept for a database that does not answer
    await cleanup();
  });
  const result = await runCli([...args, "--dir", dir], { env });
  const kept = await readdir(join(dir, ".parallel-progress", "pending")).catch(() => []);
  return { ...result, kept };
}

describe("store URL mistakes", () => {
  it.each([
    ["s3cret/pw", 'has an "@" after its host'],
    ["s3cret@pw", "must be a postgres:// or postgresql:// URL"],
    ["s3cret?pw", 'has an "@" after its host'],
    ["s3cret#pw", 'has an "@" after its host'],
    ["s3cret%C3pw", 'has a "%" that starts no percent-encoded character'],
    // The pg client re-encoded a URL holding a space and then threw a bare URIError (exit 1, a stack).
    ["s3cret pw%E2%82%AC", "holds a space"],
    ["s3cret\tpw", "holds a tab"], // named: the URL shown is the parser's, which drops it
  ])("a password with %j is never printed", async (password, message) => {
    const port = password.includes("@") ? "bad" : "41099";
    const store = `postgresql://postgres:${password}@127.0.0.1:${port}/db`;
    for (const env of [{}, { PARALLEL_PROGRESS_STORE: store }]) {
      const given = "PARALLEL_PROGRESS_STORE" in env ? [] : ["--store", store];
      const result = await call(
        ["update", "api", "--status", "in_progress", "--files", "1/2", "--epic", "E1", ...given],
        env,
      );
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain("s3cret");
      expect(result.stderr.replace("postgres:***@", "")).not.toMatch(/pw@/);
      expect(result.kept).toEqual([]);
    }
  });

  it.each([
    "postgresql:/bob:S3cretPw99@127.0.0.1:41099/progress",
    "postgresql:bob:S3cretPw99@127.0.0.1:41099/progress",
    "postgresql:///bob:S3cretPw99@127.0.0.1:41099/progress",
    "postgres:/bob:S3cret Pw99@127.0.0.1:41099/progress",
  ])("a slash too few or too many (%s) is refused in one line, the password nowhere", async (store) => {
    for (const env of [{}, { PARALLEL_PROGRESS_STORE: store }]) {
      const given = "PARALLEL_PROGRESS_STORE" in env ? [] : ["--store", store];
      const { dir, cleanup } = await makeEpic();
      cleanups.push(cleanup);
      for (const command of [["update", "api", "--status", "in_progress", "--files", "1/2"], ["status"]]) {
        const result = await runCli([...command, "--epic", "E1", ...given, "--dir", dir], { env });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
        expect(result.stderr).toMatch(
          /must be a postgres:\/\/ or postgresql:\/\/ URL|has an "@" after its host/,
        );
        expect(result.stderr).toContain('"postgres'); // the URL is named, without its password
        expect(`${result.stdout}${result.stderr}`).not.toContain("S3cret");
      }
      const files = await readdir(dir, { recursive: true });
      expect(files).toEqual([]);
    }
  });

  it.each([
    ["sslmode=bogus", 'sslmode must be one of disable, prefer, require, verify-ca, verify-full, got "bogus"'],
    ["connect_timeout=abc", 'connect_timeout must be a whole number, got "abc"'],
    ["sslmod=require", 'unknown parameter "sslmod"'],
    [
      "replication=database",
      'replication must be off (a replication connection runs none of the store\'s statements), got "database"',
    ],
    // The server reads "\" as escaping the next character: the settings the tool adds after the URL's
    // own would start with it. Named as the caller wrote it, not with what the tool appends.
    [
      "options=-c%20search_path%3Dpublic%5C",
      'options ends with a "\\" that escapes nothing: remove it (a backslash of a value is written "\\\\"), got "-c search_path=public\\\\"',
    ],
  ])("%s is a configuration mistake (exit 2, nothing kept), not a database down", async (query, message) => {
    const store = `postgres://u:pw-secret@127.0.0.1:${await closedPort()}/db?${query}`;
    const result = await call(["update", "a", "--status", "pending", "--epic", "E", "--store", store]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(`parallel-progress: error: --store: ${message}`);
    expect(result.kept).toEqual([]);
  });

  it("PGOPTIONS ending with a lone backslash is refused, named as given; an escaped one is a value", async () => {
    const store = `postgres://u:pw-secret@127.0.0.1:${await closedPort()}/db`;
    const args = ["update", "a", "--status", "pending", "--epic", "E", "--store", store];
    const result = await call(args, { PGOPTIONS: "-c search_path=public\\" });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain('PGOPTIONS ends with a "\\" that escapes nothing');
    expect(result.stderr).toContain('got "-c search_path=public\\\\"');
    expect(result.kept).toEqual([]);
    // Two backslashes are one escaped: the options end there, and the database is only not answering.
    const escaped = await call(args, { PGOPTIONS: "-c application_name=a\\\\" });
    expect(escaped.code, escaped.stderr).toBe(0);
    expect(escaped.stderr).toMatch(/not answering/);
  });

  // The pg client reads these when the URL does not say: PGPORT=abc connected to port NaN and threw a
  // RangeError (an internal error with its stack, exit 1, the change lost); PGSSLMODE=requir went without
  // TLS. Checked as the URL's own values, before any connection.
  it.each([
    ["PGPORT", "abc", 'PGPORT must be a port number from 1 to 65535, got "abc"'],
    ["PGPORT", "99999", 'PGPORT must be a port number from 1 to 65535, got "99999"'],
    ["PGPORT", "5432x", 'PGPORT must be a port number from 1 to 65535, got "5432x"'],
    [
      "PGSSLMODE",
      "requir",
      'PGSSLMODE must be one of disable, prefer, require, verify-ca, verify-full, got "requir"',
    ],
    ["PGSSLNEGOTIATION", "bogus", 'PGSSLNEGOTIATION must be one of postgres, direct, got "bogus"'],
  ])("%s=%j is a configuration mistake (exit 2, one line, nothing kept)", async (name, value, message) => {
    const store = "postgresql://u:pw-secret@127.0.0.1/db";
    for (const command of [["update", "a", "--status", "pending"], ["status"]]) {
      const result = await call([...command, "--epic", "E", "--store", store], { [name]: value });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
      expect(result.stderr).toContain(`parallel-progress: error: ${message}`);
      expect(result.stderr).not.toContain("pw-secret");
      expect(result.kept).toEqual([]);
    }
  });

  it("a PGPORT the client can use is taken: the database is only not answering", async () => {
    const store = "postgresql://u:pw-secret@127.0.0.1/db";
    const args = ["update", "a", "--status", "pending", "--epic", "E", "--store", store];
    const result = await call(args, { PGPORT: String(await closedPort()) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/not answering/);
    expect(result.kept).toHaveLength(1);
  });

  it("a database name holding a line break is named on one line when the database does not answer", async () => {
    const store = `postgresql://u@127.0.0.1:${await closedPort()}/db%0Aparallel-progress:error:forged`;
    const result = await call(["status", "--epic", "E1", "--store", store]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n"), result.stderr).toHaveLength(1);
    expect(result.stderr).toContain("db\\u000aparallel-progress");
  });
});
