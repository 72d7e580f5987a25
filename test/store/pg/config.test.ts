import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { environmentTokens } from "../../../src/config/resolve.js";
import { StoreConfigError, StoreUnavailableError, UsageError } from "../../../src/errors.js";
import { toHistoryEntry } from "../../../src/model/history.js";
import { createRun } from "../../../src/model/run.js";
import { type PendingChange, PendingChanges } from "../../../src/queue/pending-changes.js";
import { checkPendingChange } from "../../../src/queue/pending-schema.js";
import { chooseStore } from "../../../src/store/open-store.js";
import {
  clientUrl,
  databaseName,
  explainPgError,
  parseStoreUrl,
  redactText,
  storeUrlSecrets,
} from "../../../src/store/pg/config.js";
import { changedAgentRows } from "../../../src/store/pg/rows.js";
import type { FileSystem } from "../../../src/util/io.js";

const github = {
  issueNumber: null,
  repo: null,
  apiUrl: "x",
  syncEnabled: true,
  commentMode: "edit" as const,
  minIntervalMs: 0,
};

describe("store URLs", () => {
  it("hold their secrets decoded: the password and the secret parameters, for masking", () => {
    const url =
      "postgresql://bob:p%40ss@db.example.com/progress?sslmode=require&sslpassword=key%20phrase&oauth_client_secret=oauth-secret-1";
    const secrets = ["p@ss", "key phrase", "oauth-secret-1"];
    expect(parseStoreUrl(url).secrets).toEqual(secrets);
    expect(storeUrlSecrets(url)).toEqual(secrets);
    expect(parseStoreUrl("postgresql://bob@db/progress?password=pw%26x").secrets).toEqual(["pw&x"]);
    expect(environmentTokens({ PARALLEL_PROGRESS_STORE: url, PGPASSWORD: "pg-pw" })).toEqual([
      "pg-pw",
      ...secrets,
    ]);
    // An unencoded "@" in the password: the authority ends at its last "@".
    expect(storeUrlSecrets("postgresql://bob:p@ss@db/progress")).toEqual(["p@ss"]);
    expect(storeUrlSecrets("not a url")).toEqual([]);
    expect(storeUrlSecrets("postgresql://db/progress")).toEqual([]);
  });

  it("names a database for messages without its password or parameters", () => {
    expect(parseStoreUrl("postgresql://bob:s3cret@db.example.com:6543/progress?sslmode=require").safe).toBe(
      "postgresql://bob@db.example.com:6543/progress",
    );
    expect(parseStoreUrl("postgres:///progress?host=/run/postgresql").safe).toBe(
      "postgresql:///run/postgresql/progress",
    );
    // libpq's user without a host (a unix socket), which the WHATWG URL parser alone refuses.
    expect(parseStoreUrl("postgresql://bob:s3cret@/progress?host=/run/postgresql").safe).toBe(
      "postgresql://bob@/run/postgresql/progress",
    );
    expect(parseStoreUrl("postgres://bob@").safe).toBe("postgresql://bob@localhost/");
  });

  it("refuses what is not a postgres URL, naming the option, never showing a password", () => {
    expect(() => parseStoreUrl("mysql://u:pw-secret@h/db")).toThrow(UsageError);
    expect(() => parseStoreUrl("postgres://u:pw-secret@[bad/db", "PARALLEL_PROGRESS_STORE")).toThrow(
      /^PARALLEL_PROGRESS_STORE must be a postgres:\/\/ or postgresql:\/\/ URL, got "postgres:\/\/u:\*\*\*@\[bad\/db"$/,
    );
    expect(redactText("x://a:b@c/d?password=e&sslmode=require")).toBe(
      "x://a:***@c/d?password=***&sslmode=require",
    );
    // verify-ca checks against the CA sslrootcert names: without one, refused here, not taken for a database down.
    expect(() => parseStoreUrl("postgres://h/db?sslmode=verify-ca")).toThrow(
      /^--store: sslmode=verify-ca needs sslrootcert=/,
    );
    expect(parseStoreUrl("postgres://h/db?sslmode=verify-ca&sslrootcert=/etc/ca.pem").safe).toBe(
      "postgresql://h/db",
    );
  });

  it("refuses a #fragment, which a database URL does not take and the client's parameters would land in", () => {
    for (const url of [
      "postgres://u:pw-secret@h/db?sslmode=require#x",
      "postgres://h/db#",
      "postgres://h/d#b",
    ]) {
      expect(() => parseStoreUrl(url)).toThrow(
        /^--store has a "#" fragment, which a database URL does not take, got /,
      );
      expect(() => parseStoreUrl(url)).not.toThrow(/pw-secret/);
    }
  });

  it("gives sslmode libpq's meaning unless the URL chose", () => {
    expect(clientUrl("postgres://h/db")).toBe("postgres://h/db");
    expect(clientUrl("postgres://h/db?sslmode=require")).toBe(
      "postgres://h/db?sslmode=require&uselibpqcompat=true",
    );
    expect(clientUrl("postgres://h/db?sslmode=require&uselibpqcompat=false")).toBe(
      "postgres://h/db?sslmode=require&uselibpqcompat=false",
    );
  });

  it("takes the store and epic from options, then the environment; a store needs an epic", () => {
    expect(chooseStore({}, {})).toBeNull();
    expect(
      chooseStore({}, { PARALLEL_PROGRESS_STORE: " postgres://h/db ", PARALLEL_PROGRESS_EPIC: "E" }),
    ).toEqual({
      url: "postgres://h/db",
      epicId: "E",
    });
    expect(chooseStore({ store: "postgres://a/b", epic: "F" }, { PARALLEL_PROGRESS_EPIC: "E" })?.epicId).toBe(
      "F",
    );
    expect(() => chooseStore({ store: "postgres://a/b" }, {})).toThrow(/needs the run's epic/);
    expect(() => chooseStore({ store: "postgres://a/b", epic: "a\nb" }, {})).toThrow(/--epic must be/);
  });
});

describe("explainPgError", () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it("makes configuration mistakes UsageErrors and a silent database StoreUnavailableError", () => {
    expect(explainPgError(pgError("28P01", "password authentication failed"), "db")).toBeInstanceOf(
      UsageError,
    );
    expect(explainPgError(pgError("3D000", 'database "x" does not exist'), "db")).toBeInstanceOf(UsageError);
    expect(explainPgError(pgError("42501", "permission denied for schema"), "db")).toBeInstanceOf(UsageError);
    // A setting's mistake, not a change's: kept changes are not set aside for it (cli/offline.ts).
    for (const code of ["28P01", "3D000", "42501"]) {
      expect(explainPgError(pgError(code, "refused"), "db")).toBeInstanceOf(StoreConfigError);
    }
    for (const code of ["57P01", "57P03", "08006", "57014", "ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND"]) {
      expect(explainPgError(pgError(code, "gone"), "db")).toBeInstanceOf(StoreUnavailableError);
    }
    expect(explainPgError(new Error("Connection terminated unexpectedly"), "db")).toBeInstanceOf(
      StoreUnavailableError,
    );
    const other = pgError("23514", "check constraint");
    expect(explainPgError(other, "db")).toBe(other);
  });

  it("never repeats a password found in the message", () => {
    const explained = explainPgError(
      pgError("08001", "cannot reach postgres://u:hunter2@h/db"),
      "db",
    ) as Error;
    expect(explained.message).not.toContain("hunter2");
  });
});

describe("rows and history from a run", () => {
  const run = createRun({
    epicId: "E",
    domains: ["api", "web"],
    now: Date.parse("2025-01-01T00:00:00Z"),
    github,
    nonce: "00",
  });

  it("writes every agent of a new run and only the agents a change touched", () => {
    expect(changedAgentRows(null, run, {}).map((r) => [r.domain, r.version])).toEqual([
      ["api", null],
      ["web", null],
    ]);
    const [id, other] = Object.keys(run.agents);
    const next = { ...run, agents: { ...run.agents, [id!]: { ...run.agents[id!]!, filesTotal: 3 } } };
    const versions = { [id!]: 4, [other!]: 7 };
    expect(changedAgentRows(run, next, versions).map((r) => [r.domain, r.files_total, r.version])).toEqual([
      ["api", 3, 4],
    ]);
    expect(changedAgentRows(run, { ...run, seq: 2 }, versions)).toEqual([]);
    const { [other!]: _gone, ...fewer } = run.agents;
    expect(() => changedAgentRows(run, { ...run, agents: fewer }, versions)).toThrow(/removed agent/);
  });

  it("gives each run's and domain's duration, null until known", () => {
    const [api] = Object.keys(run.agents);
    const done = {
      ...run,
      completedAt: "2025-01-01T00:10:00.000Z",
      agents: {
        ...run.agents,
        [api!]: {
          ...run.agents[api!]!,
          status: "completed" as const,
          startedAt: "2025-01-01T00:01:00.000Z",
          finishedAt: "2025-01-01T00:04:00.000Z",
        },
      },
    };
    expect(toHistoryEntry(done)).toMatchObject({
      epicId: "E",
      durationMs: 600_000,
      agents: [
        { domain: "api", status: "completed", durationMs: 180_000 },
        { domain: "web", status: "pending", durationMs: null },
      ],
    });
    expect(toHistoryEntry(run).durationMs).toBeNull();
  });
});

describe("PendingChanges", () => {
  const make = () =>
    new PendingChanges(createFsFromVolume(new Volume()) as unknown as FileSystem, "/epic/.parallel-progress");
  const change = (n: number) => ({ kind: "log" as const, agent: "api", message: `m${n}` });
  /** The change in `name`, read as the CLI reads it (checked against its schema). */
  const read = (pending: PendingChanges, name: string) => pending.read(name, checkPendingChange);
  const idOf = (read: PendingChange | { damaged: string } | null) =>
    read !== null && "id" in read ? read.id : null;

  it("keeps changes oldest first, reads and removes them", () => {
    const pending = make();
    pending.add({ id: "b", epicId: "E", madeAt: 2000, change: change(2) });
    pending.add({ id: "a", epicId: "E", madeAt: 1000, change: change(1) });
    pending.add({ id: "c", epicId: "E", madeAt: 2000, change: change(3) });
    const names = pending.names();
    expect(names.map((name) => idOf(read(pending, name)))).toEqual(["a", "b", "c"]);
    pending.remove(names[0]!);
    expect(read(pending, names[0]!)).toBeNull();
    const aside = pending.setAside(names[1]!, "its agent is gone");
    expect(aside).toBe(`${names[1]}.rejected`);
    expect(pending.names()).toHaveLength(1);
  });

  it("sets a damaged file aside instead of failing every later call", () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const pending = new PendingChanges(fs, "/epic/.parallel-progress");
    const name = pending.add({ id: "a", epicId: "E", madeAt: 1, change: change(1) });
    fs.writeFileSync(`${pending.dir}/${name}`, "{ torn");
    expect(read(pending, name)).toEqual({ damaged: "not valid JSON", to: `${name}.rejected` });
    expect(pending.names()).toEqual([]);
    // The file says why, and keeps what it held.
    expect(JSON.parse(String(fs.readFileSync(`${pending.dir}/${name}.rejected`, "utf8")))).toEqual({
      setAside: "not valid JSON",
      text: "{ torn",
    });
    const other = pending.add({ id: "b", epicId: "E", madeAt: 2, change: change(2) });
    fs.writeFileSync(`${pending.dir}/${other}`, "[1]");
    expect(read(pending, other)).toEqual({ damaged: "not a JSON object", to: `${other}.rejected` });
    expect(JSON.parse(String(fs.readFileSync(`${pending.dir}/${other}.rejected`, "utf8")))).toEqual({
      setAside: "not a JSON object",
      text: "[1]",
    });
  });

  it("lets one waiter at a time wait for the database (per target: a database and epic), and takes over a stale claim", () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const pending = new PendingChanges(fs, "/epic/.parallel-progress");
    expect(pending.claimWaiter("t1", 60_000)).toBe(false); // nothing kept: nothing to wait for
    pending.add({ id: "a", epicId: "E", madeAt: 1, change: change(1) });
    expect(pending.claimWaiter("t1", 60_000)).toBe(true);
    expect(pending.claimWaiter("t1", 60_000)).toBe(false);
    expect(pending.claimWaiter("t2", 60_000)).toBe(true); // another epic's waiter waits beside it
    // Its waiter died two minutes ago (the claim was not touched since): taken over.
    const past = new Date(Date.now() - 120_000);
    fs.utimesSync(`${pending.dir}/.waiter-t1.lock`, past, past);
    expect(pending.claimWaiter("t1", 60_000)).toBe(true);
    pending.releaseWaiter("t1");
    expect(pending.claimWaiter("t1", 60_000)).toBe(true);
  });
});

describe("databaseName: the database a kept change is for", () => {
  const of = (url: string, env: Record<string, string> = {}) => databaseName(parseStoreUrl(url).names, env);

  it("works it out as the client does: the URL's, else PGDATABASE, else the user's name", () => {
    expect(of("postgresql://alice@h/prod", { PGDATABASE: "other" })).toBe("prod");
    expect(of("postgresql://alice@h/", { PGDATABASE: "prod" })).toBe("prod");
    expect(of("postgresql://alice@h/")).toBe("alice");
    expect(of("postgresql://h/?user=bob")).toBe("bob");
    expect(of("postgresql://h", { PGUSER: "carol", USER: "root" })).toBe("carol");
    expect(of("postgresql://h", { USER: "root" })).toBe("root");
    expect(of("postgresql://h/my%20db")).toBe("my db");
    // As pg reads them: `?user=` before the URL's user; the path by decodeURI (a "%23" stays); USERNAME.
    expect(of("postgresql://alice@h/?user=bob")).toBe("bob");
    expect(of("postgresql://h/my%23db")).toBe("my%23db");
    expect(of("postgresql://h", { USERNAME: "win" })).toBe("win");
  });
});
