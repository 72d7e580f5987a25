import { tmpdir } from "node:os";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreConfigError, StoreUnavailableError, UsageError } from "../../../src/errors.js";
import type { RunState } from "../../../src/model/types.js";
import { explainPgError } from "../../../src/store/pg/config.js";
import { PgRunStore } from "../../../src/store/pg/pg-store.js";
import { type PostgresDatabases, postgresUnavailable, sharedPostgres } from "../../support/postgres.js";

/** What the database's errors mean (by their codes, never their words), and what they do to the pool. */

const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

describe("explainPgError", () => {
  const where = "postgresql://u@h/db";

  it("classifies by SQLSTATE, never by the message's words", () => {
    // An application's SQL error whose text speaks of connections and timeouts is still that error.
    const raised = coded("connection timeout while checking the agent", "P0001");
    expect(explainPgError(raised, where)).toBe(raised);
    const check = coded('new row violates check constraint "files_done" (connect)', "23514");
    expect(explainPgError(check, where)).toBe(check);
    expect(
      explainPgError(coded("terminating connection due to administrator command", "57P01"), where),
    ).toBeInstanceOf(StoreUnavailableError);
    expect(
      explainPgError(coded("canceling statement due to statement timeout", "57014"), where),
    ).toBeInstanceOf(StoreUnavailableError);
    // A server short of disk or memory, or read-only (a standby after a failover): it takes the change later.
    // A session the server ended for being idle (idle_session_timeout, idle_in_transaction_session_timeout).
    for (const code of ["53100", "53200", "25006", "57P05", "25P03"]) {
      expect(explainPgError(coded("could not extend file", code), where)).toBeInstanceOf(
        StoreUnavailableError,
      );
    }
    expect(explainPgError(coded("password authentication failed", "28P01"), where)).toBeInstanceOf(
      StoreConfigError,
    );
  });

  it("classifies Node's socket and TLS codes, and pg's own code-less connection errors", () => {
    expect(explainPgError(coded("connect ECONNREFUSED 127.0.0.1:1", "ECONNREFUSED"), where)).toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(explainPgError(coded("write EPIPE", "EPIPE"), where)).toBeInstanceOf(StoreUnavailableError);
    expect(
      explainPgError(coded("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT"), where),
    ).toBeInstanceOf(StoreConfigError);
    expect(explainPgError(new Error("Connection terminated unexpectedly"), where)).toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(explainPgError(new Error("The server does not support SSL connections"), where)).toBeInstanceOf(
      StoreConfigError,
    );
    // pg's own SCRAM errors: a password the server asks for and none was given, or a handshake refused.
    const noPassword = explainPgError(
      new Error("SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string"),
      where,
    );
    expect(noPassword).toBeInstanceOf(StoreConfigError);
    expect((noPassword as Error).message).toContain("the server asks for a password and none was given");
    expect(
      explainPgError(new Error("SASL: SCRAM-SERVER-FINAL-MESSAGE: server signature does not match"), where),
    ).toBeInstanceOf(StoreConfigError);
    // A file the URL names that cannot be read (missing, or a folder) is the caller's setting (a missing
    // unix socket is not).
    for (const file of ["/nowhere/ca.pem", tmpdir()]) {
      let unreadable: unknown;
      try {
        new pg.Client({
          connectionString: `postgres://u@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=${file}`,
        });
      } catch (error) {
        unreadable = error;
      }
      expect(explainPgError(unreadable, where), file).toBeInstanceOf(StoreConfigError);
    }
    const socket = Object.assign(coded("connect ENOENT /run/postgresql/.s.PGSQL.5432", "ENOENT"), {
      syscall: "connect",
    });
    expect(explainPgError(socket, where)).toBeInstanceOf(StoreUnavailableError);
    // A bug is a bug, whatever it says; and an error the application named is left as it is.
    const bug = new TypeError("cannot read properties of undefined (reading 'connect')");
    expect(explainPgError(bug, where)).toBe(bug);
    const odd = coded("timeout", "ERR_SOMETHING_ELSE");
    expect(explainPgError(odd, where)).toBe(odd);
  });
});

const skip = postgresUnavailable();

/** Where a run of these tests posts: nowhere (sync off). */
const LOCAL = {
  issueNumber: null,
  repo: null,
  apiUrl: "x",
  syncEnabled: false,
  commentMode: "edit" as const,
  minIntervalMs: 0,
};
if (skip) console.warn(`skipping the PostgreSQL error tests: ${skip}`);

describe.skipIf(skip)("PgRunStore: the application's errors against a real PostgreSQL", () => {
  let server: PostgresDatabases;
  let url: string;
  let name: string;
  const stores: PgRunStore[] = [];

  beforeAll(async () => {
    server = sharedPostgres();
    ({ url, name } = await server.createDatabase("errors"));
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  const backends = async () =>
    (
      await server.sql<{ pid: number }>(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'parallel-progress' ORDER BY pid",
        [name],
      )
    ).map((row) => row.pid);

  it("refuses a session setting the server does not take (the URL's options) as a configuration mistake", async () => {
    for (const setting of ["statement_timout=5s", "statement_timeout=abc"]) {
      const store = new PgRunStore({
        url: `${url}?options=${encodeURIComponent(`-c ${setting}`)}`,
        epicId: "OPT",
      });
      stores.push(store);
      await expect(store.read(), setting).rejects.toThrow(StoreConfigError);
      await expect(store.read(), setting).rejects.toThrow(/the server refused the connection's settings/);
    }
  });

  it("keeps a pooled connection after a refused change (the application's error, not a broken connection)", async () => {
    const store = new PgRunStore({ url, epicId: "POOL", maxConnections: 1 });
    stores.push(store);
    await store.read();
    const before = await backends();
    expect(before).toHaveLength(1);
    await expect(
      store.transact(() => {
        throw new UsageError("unknown agent: nobody");
      }),
    ).rejects.toThrow(UsageError);
    await store.read();
    expect(await backends()).toEqual(before);
  });

  it("ends the transaction of a write the database refuses: the run unchanged, the connection kept for the next change", async () => {
    const store = new PgRunStore({ url, epicId: "REFUSED", maxConnections: 1 });
    stores.push(store);
    const { createRun, applyProgress } = await import("../../../src/model/run.js");
    const run = await store.transact((_current, now) => {
      const next = createRun({ epicId: "REFUSED", domains: ["a"], now, github: LOCAL, nonce: "0000" });
      return { next, result: next };
    });
    const agent = Object.keys(run.agents)[0]!;
    const before = await backends();
    // A repository the table's CHECK refuses: the write fails in the database, after the lock was taken.
    const refused = await store
      .transact((current, now) => {
        const next = applyProgress(current!, agent, { status: "in_progress" }, now);
        return { next: { ...next, github: { ...next.github, repo: "not-a-repository" } }, result: 0 };
      })
      .catch((error: unknown) => error);
    expect((refused as { code?: string }).code).toBe("23514"); // check_violation
    expect((await store.read())?.seq).toBe(run.seq);
    const next = await store.transact((current, now) => {
      const changed = applyProgress(
        current!,
        agent,
        { status: "in_progress", filesCompleted: 1, filesTotal: 2 },
        now,
      );
      return { next: changed, result: changed.seq };
    });
    expect(next).toBe(run.seq + 1);
    expect(await backends()).toEqual(before);
  });

  it("is not crashed by a connection the server ends as the pool hands it out (found by test/cli/pg-chaos)", async () => {
    const store = new PgRunStore({ url, epicId: "HANDED", maxConnections: 1 });
    stores.push(store);
    await store.read();
    // pg emits "error" on a client whose server ends the connection while no query runs (a terminated
    // backend): here in the moment after the pool took its idle listener off, before the store's query.
    const pool = (store as unknown as { pool: pg.Pool }).pool;
    let emitted = false;
    pool.once("acquire", (client) =>
      queueMicrotask(() => {
        emitted = true;
        client.emit(
          "error",
          Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }),
        );
      }),
    );
    // Before the fix, the event was thrown (an uncaught exception: the agent's call exited 1).
    expect(await store.read()).toBeNull();
    expect(emitted).toBe(true);
  });

  it("throws away a pooled connection that met a read-only server (a standby after a failover): the next change connects afresh", async () => {
    const { createRun, applyProgress } = await import("../../../src/model/run.js");
    const setup = new PgRunStore({ url, epicId: "STANDBY", maxConnections: 1 });
    stores.push(setup);
    const run = await setup.transact((_current, now) => {
      const next = createRun({ epicId: "STANDBY", domains: ["a"], now, github: LOCAL, nonce: "0000" });
      return { next, result: next };
    });
    await setup.close();
    const agent = Object.keys(run.agents)[0]!;
    const progress = (done: number) => (current: RunState | null, now: number) => {
      const next = applyProgress(
        current!,
        agent,
        { status: "in_progress", filesCompleted: done, filesTotal: 2 },
        now,
      );
      return { next, result: next.seq };
    };
    // The store's one pooled connection opens on a server that takes no writes (as a standby does), which
    // then becomes writable again for new sessions (as the host name moved to the new primary).
    const store = new PgRunStore({ url, epicId: "STANDBY", maxConnections: 1 });
    stores.push(store);
    await server.sql("postgres", `ALTER DATABASE "${name}" SET default_transaction_read_only = on`);
    try {
      await expect(store.transact(progress(1))).rejects.toThrow(StoreUnavailableError);
    } finally {
      await server.sql("postgres", `ALTER DATABASE "${name}" RESET default_transaction_read_only`);
    }
    expect(await store.transact(progress(2))).toBe(run.seq + 1);
  });

  it("never turns a change's own error into 'the database is not answering', whatever its words", async () => {
    const store = new PgRunStore({ url, epicId: "WORDS", maxConnections: 1 });
    stores.push(store);
    const own = new Error("could not connect the agent to its parent: timeout");
    const thrown = await store
      .transact(() => {
        throw own;
      })
      .catch((error: unknown) => error);
    expect(thrown).toBe(own);
  });
});
