import { describe, expect, it } from "vitest";
import { StoreConfigError, StoreUnavailableError, UsageError } from "../../../src/errors.js";
import { connectionConfig, explainPgError, parseStoreUrl, redactText } from "../../../src/store/pg/config.js";

/**
 * A store URL's password never reaches a message, whatever characters it holds and whether or not they
 * were percent-encoded: not in a refused URL, not in the name of a database (`safe`), not in a refused
 * parameter, not in an error of the database client that quotes the URL.
 */

/** Passwords of two marked halves around a hostile character, as a careless user pastes them. */
const HOSTILE = ["/", "@", ":", "?", "#", "%", "%zz", " ", "é☃🚀", "@x/y?z#", "&", "=", "//", "@@"];
const password = (char: string) => `Zq${char}Wx`;
const leaks = (text: string) => text.includes("Zq") || text.includes("Wx");

/** Every way a URL holding the password is written: raw, percent-encoded, with a port and parameters. */
function urls(pw: string): string[] {
  return [
    `postgresql://postgres:${pw}@127.0.0.1:41099/db`,
    `postgres://postgres:${pw}@127.0.0.1/db?sslmode=require`,
    `postgresql://postgres:${encodeURIComponent(pw)}@db.example.com:5432/progress`,
    `postgresql://postgres:${pw}@/progress?host=/run/postgresql`,
    `postgresql://postgres:${pw}@127.0.0.1:bad/db`,
    `postgresql://postgres:${pw}@127.0.0.1:0/db`,
    `postgresql://postgres:${pw}@127.0.0.1/db?sslmode=bogus`,
    `postgresql://postgres:${pw}@127.0.0.1/db?connect_timeout=abc`,
    `postgresql://postgres:${pw}@127.0.0.1/db?sslmod=require`,
    `postgresql://h/db?password=${pw}&sslmode=bogus`,
    `postgresql://h/db?user=u&password=${pw}`,
    // A slash too few or too many: no authority, or an empty one before the user.
    `postgresql:/postgres:${pw}@db.example.com:5432/progress`,
    `postgresql:postgres:${pw}@db.example.com:5432/progress`,
    `postgresql:///postgres:${pw}@db.example.com:5432/progress`,
    `POSTGRES:/postgres:${pw}@127.0.0.1/db`,
  ];
}

/** What parseStoreUrl lets out: the refusal's message, or the database's name for messages. */
function parsed(url: string, option = "--store"): string {
  try {
    const { safe } = parseStoreUrl(url, option);
    return safe;
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
}

const pgError = (code: string | undefined, message: string) =>
  Object.assign(new Error(message), code === undefined ? {} : { code });

describe.each(HOSTILE)("a password with %j", (char) => {
  const pw = password(char);

  it.each(urls(pw))("is not in what parseStoreUrl says of %s", (url) => {
    for (const option of ["--store", "PARALLEL_PROGRESS_STORE"]) {
      const said = parsed(url, option);
      expect(leaks(said), said).toBe(false);
    }
  });

  it.each(urls(pw))("is not in a database error that quotes %s", (url) => {
    for (const code of ["08001", "28P01", "3D000", "42501", "XX000", "ECONNREFUSED", "CERT_HAS_EXPIRED"]) {
      for (const text of [`cannot reach ${url}`, `${url} refused`, `connect to "${url}" failed: x@y`]) {
        const explained = explainPgError(pgError(code, text), "db");
        // An error left as it is (not the client's) is not printed as the client's: only ours are checked.
        if (explained instanceof UsageError || explained instanceof StoreUnavailableError) {
          expect(leaks(explained.message), explained.message).toBe(false);
        }
        expect(leaks(redactText(text)), redactText(text)).toBe(false);
      }
    }
    const plain = explainPgError(pgError(undefined, `Connection terminated: ${url}`), "db") as Error;
    expect(leaks(plain.message), plain.message).toBe(false);
  });
});

/** Tabs and line breaks: the URL parser drops them wherever they are, so a password may hold one. */
describe.each(["\n", "\r\n", "\t", "a\nb\nc"])("a password with the line break or tab %j", (char) => {
  it.each([...urls(password(char)), `postgresx://postgres:${password(char)}@127.0.0.1/db`])(
    "is not in what parseStoreUrl says of %j",
    (url) => {
      const said = parsed(url);
      expect(leaks(said), said).toBe(false);
    },
  );
});

describe("store URLs that hold a password with reserved characters", () => {
  it("refuses an @ after the host, saying how to write the password, without showing it", () => {
    expect(() => parseStoreUrl("postgresql://postgres:s3cret/pw@127.0.0.1:41099/db")).toThrow(
      '--store has an "@" after its host, got "postgresql://postgres:***@127.0.0.1:41099/db": percent-encode',
    );
    // libpq and the URL parser would both read this as host "postgres", port 5432, database "pw@h/db".
    expect(() => parseStoreUrl("postgresql://postgres:5432/pw@h/db")).toThrow(/has an "@" after its host/);
    expect(() => parseStoreUrl("postgresql://u:12#cd@h/db")).toThrow(/has an "@" after its host/);
  });

  it("refuses a URL with a slash too few or too many, the password hidden from the scheme's : to the last @", () => {
    for (const [url, shown] of [
      [
        "postgresql:/bob:S3cretPw99@db.example.com:5432/progress",
        "postgresql:***@db.example.com:5432/progress",
      ],
      [
        "postgresql:bob:S3cretPw99@db.example.com:5432/progress",
        "postgresql:***@db.example.com:5432/progress",
      ],
      ["postgres:/bob:S3cret@Pw99@h/db", "postgres:***@h/db"],
    ] as const) {
      expect(() => parseStoreUrl(url), url).toThrow(
        new UsageError(`--store must be a postgres:// or postgresql:// URL, got "${shown}"`),
      );
      expect(redactText(`connect to ${url} failed`)).toBe(`connect to ${shown} failed`);
    }
    expect(() => parseStoreUrl("postgresql:///bob:S3cretPw99@db.example.com:5432/progress")).toThrow(
      '--store has an "@" after its host, got "postgresql:***@db.example.com:5432/progress"',
    );
    // Without a password nothing is hidden; an empty authority is libpq's (a unix socket, the defaults).
    expect(redactText("postgresql://bob@h/db refused: bob@corp")).toBe(
      "postgresql://bob@h/db refused: bob@corp",
    );
    expect(redactText("postgresql:/bob@h/db")).toBe("postgresql:/bob@h/db");
    expect(parseStoreUrl("postgresql:///progress?host=/run/postgresql").safe).toBe(
      "postgresql:///run/postgresql/progress",
    );
  });

  it("refuses sslmode=allow, which the client cannot do (it would require TLS and check the certificate)", () => {
    expect(() => parseStoreUrl("postgres://h/db?sslmode=allow")).toThrow(
      "--store: sslmode allow is not one the client can do",
    );
  });

  it("takes an @ in a parameter's value as data", () => {
    for (const url of [
      "postgresql://u:p@h/progress?application_name=ci@runner-3",
      "postgresql://h/db?user=admin@myserver",
      "postgresql:///db?password=p@ss",
    ]) {
      expect(() => parseStoreUrl(url), url).not.toThrow();
    }
    expect(() => parseStoreUrl("postgresql://u:s3?x@h/db")).toThrow(/has an "@" after its host/);
  });

  it("never shows the value of a parameter right after a password (the password's rest, its & not encoded)", () => {
    expect(() => parseStoreUrl("postgres://h/db?password=ab&port=hunter2")).toThrow(
      "--store: port must be a port number from 1 to 65535",
    );
    expect(() => parseStoreUrl("postgres://h/db?password=ab&port=hunter2")).not.toThrow(/hunter2/);
  });

  it("takes an unencoded @ or : inside the password as the client does (the last @ ends it)", () => {
    expect(parseStoreUrl("postgresql://postgres:s3cret@pw@127.0.0.1:5432/db").safe).toBe(
      "postgresql://postgres@127.0.0.1:5432/db",
    );
    expect(parseStoreUrl("postgresql://postgres:a:b@h/db").safe).toBe("postgresql://postgres@h/db");
    expect(redactText("postgresql://postgres:s3cret@pw@127.0.0.1:bad/db")).toBe(
      "postgresql://postgres:***@127.0.0.1:bad/db",
    );
  });

  it("hides secret parameters and never echoes their values", () => {
    expect(redactText("x://h/d?sslpassword=a b&oauth_client_secret=c&x=1&sslmode=require")).toBe(
      "x://h/d?sslpassword=***&oauth_client_secret=***&sslmode=require",
    );
    expect(() => parseStoreUrl("postgres://h/db?password=Zq&Wx")).toThrow(
      '--store: a password parameter is followed by something that is not a parameter: percent-encode a password\'s "&" as %26',
    );
  });
});

describe("store URL parameters", () => {
  it.each([
    [
      "sslmode=bogus",
      '--store: sslmode must be one of disable, prefer, require, verify-ca, verify-full, got "bogus"',
    ],
    ["sslmode=", '--store: sslmode must be one of disable, prefer, require, verify-ca, verify-full, got ""'],
    ["sslmode=no-verify", 'got "no-verify"'],
    ["connect_timeout=abc", '--store: connect_timeout must be a whole number, got "abc"'],
    ["connect_timeout=1.5", '--store: connect_timeout must be a whole number, got "1.5"'],
    ["port=0", '--store: port must be a port number from 1 to 65535, got "0"'],
    ["port=70000", '--store: port must be a port number from 1 to 65535, got "70000"'],
    ["port=5432,5433", '--store: port must be a port number from 1 to 65535, got "5432,5433"'],
    ["keepalives_idle=soon", '--store: keepalives_idle must be a whole number, got "soon"'],
    [
      "channel_binding=always",
      '--store: channel_binding must be one of disable, prefer, require, got "always"',
    ],
    ["ssl=false", '--store: ssl must be one of true, 1, 0, got "false"'],
    ["sslmod=require", '--store: unknown parameter "sslmod": the URL takes libpq\'s connection parameters'],
    ["statement_timeout=0", '--store: unknown parameter "statement_timeout"'],
  ])("refuses %s, naming the parameter and its value", (query, message) => {
    expect(() => parseStoreUrl(`postgres://u:pw@127.0.0.1:1/db?${query}`)).toThrow(message);
  });

  it("refuses a port of 0, or past 65535, in the URL itself, naming the port", () => {
    expect(() => parseStoreUrl("postgres://127.0.0.1:0/db", "PARALLEL_PROGRESS_STORE")).toThrow(
      'PARALLEL_PROGRESS_STORE: the port must be a port number from 1 to 65535, got "0"',
    );
    for (const url of [
      "postgres://u:pw@127.0.0.1:99999/db",
      "postgres://u:pw@[::1]:70000",
      "postgres://h:65536?x=1",
    ]) {
      expect(() => parseStoreUrl(url)).toThrow(
        /^--store: the port must be a port number from 1 to 65535, got "\d+"$/,
      );
    }
  });

  it("takes libpq's parameters with good values", () => {
    for (const query of [
      "sslmode=disable&application_name=me&connect_timeout=10",
      "sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/c&sslkey=/k",
      "host=/run/postgresql&port=5433&user=me&dbname=x&options=-c%20search_path%3Dx",
      "keepalives=1&keepalives_idle=30&target_session_attrs=read-write&channel_binding=require",
      "sslmode=require&uselibpqcompat=true&ssl=1&connect_timeout=-1",
    ]) {
      expect(parseStoreUrl(`postgres://u:pw@h:5432/db?${query}`).safe).toBe("postgresql://u@h:5432/db");
    }
  });

  it("waits connect_timeout seconds for a connection (at least 2, as libpq), else 5 s; the caller's wait first", () => {
    const wait = (url: string, given?: number) =>
      connectionConfig(parseStoreUrl(url), { connectTimeoutMs: given }).connectionTimeoutMillis;
    expect(wait("postgres://h/db")).toBe(5000);
    expect(wait("postgres://h/db?connect_timeout=12")).toBe(12_000);
    expect(wait("postgres://h/db?connect_timeout=1")).toBe(2000);
    expect(wait("postgres://h/db?connect_timeout=0")).toBe(5000);
    expect(wait("postgres://h/db?connect_timeout=12", 300)).toBe(300);
    // At most the longest a timer waits (a longer one fired at once: the database taken for down).
    expect(wait("postgres://h/db?connect_timeout=2147484")).toBe(2 ** 31 - 1);
  });

  it("waits for an answer 2 s past the statement's limit, and never longer than a timer can (PostgreSQL's most)", () => {
    const answer = (statementTimeoutMs?: number) =>
      (
        connectionConfig(parseStoreUrl("postgres://h/db"), { statementTimeoutMs }) as {
          query_timeout?: number;
        }
      ).query_timeout;
    expect(answer()).toBe(12_000);
    expect(answer(200)).toBe(2200);
    expect(answer(2 ** 31 - 1)).toBe(2 ** 31 - 1); // statement_timeout's maximum: a larger timer fires at once
  });

  it("keeps a database's configuration mistakes apart from a database down", () => {
    expect(explainPgError(pgError("28P01", "x"), "db")).toBeInstanceOf(StoreConfigError);
  });
});

describe("a very long store URL", () => {
  it("is refused at once, in one short line (redactText is linear in the text's length)", () => {
    const long = "x".repeat(100_000);
    expect(() => parseStoreUrl(long)).toThrow(
      `--store must be a postgres:// or postgresql:// URL, got "${"x".repeat(77)}..."`,
    );
    expect(redactText(`${long}\n${"a://b:".repeat(20_000)}`)).toContain("a://b:");
    expect(redactText(`@\n${"postgresql:x".repeat(10_000)}\n${"postgres:".repeat(10_000)}@`)).toContain(
      "postgresql:x",
    );
  });
});

describe("a password= value holding an @ after the host's port", () => {
  it("is hidden whole (to the next parameter or the line's end), as is the user's password beside it", () => {
    for (const [url, shown] of [
      ["postgresql://u@127.0.0.1:5432/pp?password=p@SECRET", "connect to postgresql://u@127.0.0.1:***"],
      ["postgresql://u:pw@h:5432/pp?password=p@SECRET", "connect to postgresql://u:***"],
      [
        "postgresql://h:5432/pp?user=u&password=p@SECRET&sslmode=require",
        "connect to postgresql://h:***&sslmode=require failed",
      ],
    ] as const) {
      expect(redactText(`connect to ${url} failed`)).toBe(shown);
    }
    // Its own rule alone when no credentials rule applies.
    expect(redactText("postgresql://h/pp?password=p@SECRET&sslmode=require")).toBe(
      "postgresql://h/pp?password=***&sslmode=require",
    );
  });
});

describe("a URL naming several hosts (libpq's failover list)", () => {
  it("is refused as the caller's mistake (the client takes one host), the password hidden", () => {
    for (const url of [
      "postgresql://postgres:pw@127.0.0.1,localhost:5432/pp",
      "postgresql://u@h1:5432,h2:5433/pp",
      "postgresql:///pp?host=/run/a,/run/b",
      "postgres://u@/pp?host=127.0.0.1%2C127.0.0.2&port=5432",
    ]) {
      expect(() => parseStoreUrl(url), url).toThrow(
        /^--store names several hosts, which this client cannot try in turn, got "[^"]*": give one host/,
      );
      expect(() => parseStoreUrl(url)).not.toThrow(/pw/);
    }
    // A comma elsewhere is no list of hosts.
    expect(parseStoreUrl("postgresql://u:p,w@h:5432/pp").safe).toBe("postgresql://u@h:5432/pp");
    expect(parseStoreUrl("postgresql://h/pp?application_name=a,b").safe).toBe("postgresql://h/pp");
  });
});
