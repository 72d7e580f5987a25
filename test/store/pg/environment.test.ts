import { describe, expect, it } from "vitest";
import { UsageError } from "../../../src/errors.js";
import { checkEnvironment } from "../../../src/store/pg/environment.js";

/** The message checkEnvironment refuses `env` with for `url`, or null when it takes it. */
function refusal(url: string, env: Record<string, string>): string | null {
  try {
    checkEnvironment(url, env);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
}

describe("checkEnvironment: the PG* variables the client reads, checked as the URL's values", () => {
  it.each(["abc", " ", "99999", "0", "-1", "5432x", "1e3"])(
    "PGPORT=%j is refused, named as given",
    (port) => {
      expect(refusal("postgresql:///pp", { PGPORT: port })).toBe(
        `PGPORT must be a port number from 1 to 65535, got ${JSON.stringify(port)}`,
      );
    },
  );

  it.each(["5432", " 5433 ", "", "+22229", "022229"])(
    "PGPORT=%j is taken (libpq reads it with strtol: white space around, a sign, leading zeros)",
    (port) => {
      expect(refusal("postgresql:///pp", { PGPORT: port })).toBeNull();
    },
  );

  it.each(["off", "OFF", "False", "f", "fa", "n", "NO", "of", "0"])(
    "PGREPLICATION=%j is taken: off, as the server reads a boolean (any case, a prefix)",
    (value) => {
      expect(refusal("postgresql:///pp", { PGREPLICATION: value })).toBeNull();
      expect(refusal(`postgresql:///pp?replication=${value}`, {})).toBeNull();
    },
  );

  it.each(["on", "ON", "t", "Yes", "1", "Database"])(
    "PGREPLICATION=%j is refused: a replication connection runs none of the store's statements",
    (value) => {
      expect(refusal("postgresql:///pp", { PGREPLICATION: value })).toMatch(
        /^PGREPLICATION must be off \(a replication connection runs none of the store's statements\)/,
      );
    },
  );

  it.each(["o", "maybe", ""])("PGREPLICATION=%j, no boolean, is refused unless empty (unset)", (value) => {
    const refused = refusal("postgresql:///pp", { PGREPLICATION: value });
    if (value === "") expect(refused).toBeNull();
    else expect(refused).toMatch(/^PGREPLICATION must be off \(false, off, no or 0, in any case\)/);
  });

  it("a variable the URL overrides is not read, so not checked", () => {
    expect(refusal("postgresql://h:5432/pp", { PGPORT: "abc" })).toBeNull();
    expect(refusal("postgresql:///pp?port=5432", { PGPORT: "abc" })).toBeNull();
    expect(refusal("postgresql://h/pp", { PGHOST: "a,b" })).toBeNull();
    expect(refusal("postgresql://u@/pp?host=/run/postgresql", { PGHOST: "a,b" })).toBeNull();
    expect(refusal("postgresql:///pp?sslmode=require", { PGSSLMODE: "bogus" })).toBeNull();
    expect(refusal("postgresql:///pp?ssl=1", { PGSSLMODE: "bogus" })).toBeNull();
    expect(refusal("postgresql:///pp?replication=off", { PGREPLICATION: "database" })).toBeNull();
    expect(refusal("postgresql:///pp?sslnegotiation=postgres", { PGSSLNEGOTIATION: "bogus" })).toBeNull();
  });

  it("PGSSLMODE takes the URL's sslmode values only (a misspelt one was a connection without TLS)", () => {
    expect(refusal("postgresql:///pp", { PGSSLMODE: "requir" })).toBe(
      'PGSSLMODE must be one of disable, prefer, require, verify-ca, verify-full, got "requir"',
    );
    expect(refusal("postgresql:///pp", { PGSSLMODE: "no-verify" })).toMatch(/^PGSSLMODE must be one of/);
    expect(refusal("postgresql:///pp", { PGSSLMODE: "allow" })).toMatch(/^PGSSLMODE allow is not one/);
    expect(refusal("postgresql:///pp", { PGSSLMODE: "verify-full" })).toBeNull();
  });

  it("PGSSLNEGOTIATION: one of its words, and direct only with TLS", () => {
    expect(refusal("postgresql:///pp", { PGSSLNEGOTIATION: "bogus" })).toBe(
      'PGSSLNEGOTIATION must be one of postgres, direct, got "bogus"',
    );
    expect(refusal("postgresql:///pp", { PGSSLNEGOTIATION: "direct" })).toMatch(
      /^PGSSLNEGOTIATION=direct needs TLS: set PGSSLMODE/,
    );
    expect(refusal("postgresql:///pp?sslmode=disable", { PGSSLNEGOTIATION: "direct" })).toMatch(/needs TLS/);
    expect(refusal("postgresql:///pp", { PGSSLNEGOTIATION: "direct", PGSSLMODE: "require" })).toBeNull();
    expect(refusal("postgresql:///pp?sslmode=require", { PGSSLNEGOTIATION: "direct" })).toBeNull();
  });

  it("PGHOST with several hosts and PGREPLICATION on are refused, as in the URL", () => {
    expect(refusal("postgresql:///pp", { PGHOST: "h1,h2" })).toMatch(
      /^PGHOST names several hosts, which this client cannot try in turn: .*, got "h1,h2"$/,
    );
    expect(refusal("postgresql:///pp", { PGREPLICATION: "database" })).toMatch(
      /^PGREPLICATION must be off .*, got "database"$/,
    );
    expect(refusal("postgresql:///pp", { PGHOST: "db.internal", PGREPLICATION: "off" })).toBeNull();
  });
});
