import type pg from "pg";
import { quote } from "../../config/show-value.js";
import { StoreConfigError, StoreUnavailableError, UsageError } from "../../errors.js";
import { checkEnvironment } from "./environment.js";
import {
  checkParameters,
  MAX_TIMER_MS,
  NO_HOST,
  SECRET,
  SECRET_VALUE,
  urlConnectTimeoutMs,
  withoutEmptyHost,
} from "./url-parameters.js";

/** The store's connection, as the user gave it (`--store` / PARALLEL_PROGRESS_STORE). */
export interface StoreUrl {
  /** The URL as given: it may hold a password, so it is never printed. */
  url: string;
  /** `postgresql://user@host:port/database`: for messages (no password, no parameters). */
  safe: string;
  /** The database and user the URL names (its path; its user, or `?user=`): empty when it names none. */
  names: { database: string; user: string };
  /** How long a connection waits, from the URL's connect_timeout (ms); null: the default. */
  connectTimeoutMs: number | null;
  /** What the URL holds that must never be shown, decoded (see urlSecrets). */
  secrets: string[];
  /** The URL's `options` (the server's settings for the session), as the client reads it: the last one. */
  options: string | null;
}

/** How messages name a database store's run: the database (no password) and the epic. */
export function databasePlace(safe: string, epicId: string) {
  return { location: `${safe} (epic ${JSON.stringify(epicId)})`, database: { database: safe, epicId } };
}

/**
 * Checks a `postgres://` / `postgresql://` URL (libpq's URI form: query parameters such as sslmode,
 * host=/socket/dir, connect_timeout pass through to the client; see url-parameters.ts for the names and
 * values taken). No message shows the password, whatever characters it holds.
 */
export function parseStoreUrl(value: string, option = "--store"): StoreUrl {
  const text = value.trim();
  // Shown as the URL parser reads it, without its tabs and line breaks (it drops them wherever they are):
  // redactText works line by line, and a password holding one would be shown from it on.
  // Made only for a message: a call parses its URL three times, and redacting it each time cost ~0.9 ms a call.
  const shown = () => quote(redactText(text.replace(/[\t\n\r]/g, "")));
  // The URL parser takes `postgresql:/u:pw@h/db` and `postgresql:u:pw@h/db` as a path with no host: the
  // client would connect to localhost and name the "database" after the password. Only the URI form is
  // taken, its authority (`//`, possibly empty: `postgresql:///db?host=/run/postgresql`) included.
  if (!/^postgres(?:ql)?:\/\//i.test(text)) {
    throw new UsageError(`${option} must be a postgres:// or postgresql:// URL, got ${shown()}`);
  }
  // A password's "@", "/", "?" or "#" that was not percent-encoded: the parser would take the rest of the
  // password for the host, the database or the parameters, and show it in the messages that name them.
  if (atAfterHost(text)) {
    throw new UsageError(
      `${option} has an "@" after its host, got ${shown()}: percent-encode the "@", "/", "?" and "#" of a user or password (%40, %2F, %3F, %23)`,
    );
  }
  // libpq's several hosts (`h1,h2:5433`, tried in turn): the pg client takes one host, and would look
  // "h1,h2" up as a name (not found: the database taken as down, each change kept for ever).
  const hosts = /^[^/]*\/\/(?:[^/?#]*@)?([^/?#]*)/.exec(text)?.[1] ?? "";
  // A query's values are percent-decoded first, as libpq decodes them (`host=a%2Cb` is two hosts).
  const hostParameters = new URLSearchParams(text.split("?")[1]?.split("#")[0] ?? "").getAll("host");
  if (hosts.includes(",") || hostParameters.some((value) => value.includes(","))) {
    throw new UsageError(
      `${option} names several hosts, which this client cannot try in turn, got ${shown()}: give one host (a name that follows the primary, or a pooler in front)`,
    );
  }
  let url: URL;
  try {
    url = new URL(withoutEmptyHost(text));
  } catch (error) {
    // The URL parser refuses a port past 65535 as it refuses anything else: say which part is wrong.
    const port = /^[^/]*\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^/:?]*):(\d+)(?:[/?]|$)/.exec(text)?.[1];
    if (port !== undefined && Number(port) > 65535) {
      throw new UsageError(`${option}: the port must be a port number from 1 to 65535, got ${quote(port)}`, {
        cause: error,
      });
    }
    throw new UsageError(`${option} must be a postgres:// or postgresql:// URL, got ${shown()}`, {
      cause: error,
    });
  }
  // A fragment means nothing to a database connection (libpq takes none), and the parameters the client
  // is given after the URL's own would land in it unseen (clientUrl).
  if (text.includes("#")) {
    throw new UsageError(
      `${option} has a "#" fragment, which a database URL does not take, got ${shown()}: leave it out (the client cannot take a database name holding a "#" in the URL)`,
    );
  }
  checkParameters(url, option);
  // A space (or another white-space character) as written: the pg client re-encodes such a URL and then
  // cannot decode its other escapes (a bare URIError for `a e%E2%82%AC`); libpq takes none either.
  const blank = /\s/.exec(text)?.[0];
  if (blank !== undefined) {
    // Named, as the URL shown is the parser's, which drops tabs and line breaks.
    const what =
      blank === " "
        ? "a space"
        : blank === "\t"
          ? "a tab"
          : blank === "\n" || blank === "\r"
            ? "a line break"
            : `a white-space character (U+${blank.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")})`;
    throw new UsageError(
      `${option} holds ${what}, got ${shown()}: write it percent-encoded (a space as %20)`,
    );
  }
  // libpq refuses a "%" that starts no escape; the pg client throws a bare URIError on some (a "%" at the
  // end, an escape that is not UTF-8) and passes the others on undecoded, so a password would be wrong.
  for (const part of [url.username, url.password, url.hostname, url.pathname]) {
    try {
      decodeURIComponent(part);
    } catch (error) {
      throw new UsageError(
        `${option} has a "%" that starts no percent-encoded character in its user, password, host or database, got ${shown()}: write such a "%" as %25`,
        { cause: error },
      );
    }
  }
  // libpq's verify-ca checks the certificate against the CA given by sslrootcert; without one, nothing
  // to check against (the client refuses it when connecting, which would look like a database down).
  if (url.searchParams.get("sslmode") === "verify-ca" && !url.searchParams.get("sslrootcert")) {
    throw new UsageError(
      `${option}: sslmode=verify-ca needs sslrootcert=<the CA's PEM file> (or use sslmode=verify-full)`,
    );
  }
  const host = (url.hostname === NO_HOST ? "" : url.hostname) || url.searchParams.get("host") || "localhost";
  // As the pg client reads them: the path with decodeURI (a "%2F" or "%23" stays as it is), and a
  // `?user=` before the URL's user.
  const user = decodeURIComponent(url.username);
  const database = decodeURI(url.pathname.slice(1));
  const safe = `postgresql://${user ? `${user}@` : ""}${host}${url.port ? `:${url.port}` : ""}/${database}`;
  return {
    url: text,
    safe,
    names: { database, user: url.searchParams.get("user") || user },
    connectTimeoutMs: urlConnectTimeoutMs(url),
    secrets: urlSecrets(url),
    options: url.searchParams.getAll("options").at(-1) ?? null,
  };
}

/**
 * The database a URL connects to, as the client works it out: the URL's, else PGDATABASE, else the user's
 * name (the URL's, else PGUSER, else USER, or USERNAME on Windows).
 */
export function databaseName(
  { database, user }: StoreUrl["names"],
  env: { PGDATABASE?: string; PGUSER?: string; USER?: string; USERNAME?: string },
): string {
  return database || env.PGDATABASE || user || env.PGUSER || env.USER || env.USERNAME || "";
}

/** A store URL's secrets, decoded: its password and its secret parameters (SECRET: sslpassword too). */
function urlSecrets(url: URL): string[] {
  const given = [decodeSafely(url.password), ...[...SECRET].map((name) => url.searchParams.get(name) ?? "")];
  return given.filter((secret) => secret !== "");
}

/**
 * The secrets of a store URL that may not be one (an environment variable's: none when it cannot be
 * parsed, as a command then refuses it).
 */
export function storeUrlSecrets(text: string): string[] {
  try {
    return urlSecrets(new URL(withoutEmptyHost(text.trim())));
  } catch {
    return [];
  }
}

/**
 * A URL with an "@" after the end of its authority (the first "/", "?" or "#" after `scheme://`) where a
 * password's unencoded "/", "?" or "#" puts it: in the path, the fragment, or the query before its first
 * "=". One in a parameter's value (`application_name=ci@runner`, `user=admin@server`) is data.
 */
function atAfterHost(text: string): boolean {
  const rest = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(.*)$/is.exec(text)?.[1] ?? "";
  const [beforeFragment = "", ...fragment] = rest.split("#");
  const [path = "", ...query] = beforeFragment.split("?");
  const queryName = query.join("?").split("=")[0] ?? "";
  return path.includes("@") || queryName.includes("@") || fragment.join("#").includes("@");
}

/**
 * The URL as the client gets it: with libpq's meaning of `sslmode` (`require`: encrypted, the certificate
 * not checked; `verify-full`: checked), as the URL's reader expects, unless the URL chose itself
 * (`uselibpqcompat`). The pg client would otherwise treat require as verify-full, with a warning.
 */
export function clientUrl(url: string): string {
  if (!/[?&]sslmode=/i.test(url) || /[?&]uselibpqcompat=/i.test(url)) return url;
  return `${url}&uselibpqcompat=true`;
}

/**
 * The search_path of every connection: the system catalog, then the session's temporary objects (never
 * first). Every object of the store is named with its schema; a function or operator named without one
 * (jsonb_build_object, `=`) is then pg_catalog's. Left to the role's default (`"$user", public`), a role
 * that may CREATE in public (every role, before PostgreSQL 15) could add a look-alike with a closer
 * argument match that the owner's or another role's statements would run with their rights
 * (CVE-2018-1058). Given in the startup packet, so no statement is spent on it.
 */
const SEARCH_PATH = "pg_catalog,pg_temp";

/**
 * The URL with `options` carrying the safe search_path after the settings the URL's own `options` (else
 * PGOPTIONS, which the client reads when the URL has none) gives: the client takes a URL's last `options`,
 * the server a session's last `-c` of a name. (The client reads PGOPTIONS from the environment itself,
 * when it connects; so does this, in its place.)
 */
function withSafeSearchPath(url: string, given: string | null): string {
  // The URL's are checked with its other parameters (checkParameters), PGOPTIONS with the environment's.
  const settings = `${given || process.env.PGOPTIONS || ""} -c search_path=${SEARCH_PATH}`.trim();
  return `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(settings)}`;
}

/** How long to wait for a connection before the database counts as unreachable (ms). */
export const CONNECT_TIMEOUT_MS = 5000;
/** Statement timeout, so a stuck database never hangs a call for long (ms). */
export const STATEMENT_TIMEOUT_MS = 10_000;
/**
 * How much longer than a statement's limit the client itself waits for an answer: the server enforces
 * statement_timeout only while it runs; one that stopped answering after the connection was made (a frozen
 * host, a network partition, a proxy that keeps the socket open) would leave the query waiting forever.
 */
export const ANSWER_MARGIN_MS = 2000;
export { MAX_TIMER_MS };

/**
 * The settings of every connection this program opens (the store's pool, its listeners, the `db` commands).
 * The connection's wait: the caller's, else the URL's connect_timeout, else CONNECT_TIMEOUT_MS.
 */
export function connectionConfig(
  { url, connectTimeoutMs: fromUrl, options }: StoreUrl,
  {
    connectTimeoutMs = fromUrl ?? CONNECT_TIMEOUT_MS,
    statementTimeoutMs = STATEMENT_TIMEOUT_MS,
  }: { connectTimeoutMs?: number | undefined; statementTimeoutMs?: number | undefined } = {},
): pg.ClientConfig {
  // What the client reads from the environment where the URL does not say, checked as the URL's own.
  checkEnvironment(url, process.env);
  return {
    connectionString: withSafeSearchPath(clientUrl(url), options),
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // pg's query_timeout: the query fails ("Query read timeout": not answering) and, pipelined, its
    // connection is destroyed, never ended by a goodbye the server would not answer either.
    // At most what a timer can wait (Node caps it at 2^31 - 1 ms, PostgreSQL's statement_timeout too).
    query_timeout: Math.min(statementTimeoutMs + ANSWER_MARGIN_MS, MAX_TIMER_MS),
    application_name: "parallel-progress",
  };
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Text that may hold a URL, without what could be a password: from `scheme://user:` to the line's last "@"
 * (a password that was not percent-encoded may hold any character, "@" and "/" included: more is hidden
 * rather than less); in a store URL of any other shape (`postgresql:/u:pw@h`, `postgresql:u:pw@h`,
 * `postgresql:///u:pw@h`: a slash too few or too many), from the scheme's ":" to the line's last "@"
 * when a ":" comes before the first "@"; and the value of every secret parameter (`password=`...), to the
 * next parameter or the line's end (SECRET_VALUE). Line by line: a URL holds no line break (the URL parser
 * drops them), a stack does.
 */
export function redactText(text: string): string {
  // Each rule finds what it hides in the text as given, and the union is hidden: applied one after the
  // other, the first could cut away what the second finds its secret by (a `password=` value holding an
  // "@" after a port's ":" was hidden only up to that "@", the rest shown).
  const hidden: [number, number][] = [];
  // A scheme is matched from the first letter of its word only (the lookbehind: the same matches), and only
  // on a line with an "@": otherwise each letter of a long word, or each of many "a://b:" with no "@" on
  // their line, would scan to the line's end (quadratic: 100,000 characters took seconds).
  let offset = 0;
  for (const line of text.split("\n")) {
    if (line.includes("@")) {
      for (const credentials of [
        /(?<![a-z])([a-z][a-z0-9+.-]*:\/\/[^:/?#\s]*:).*@/gi,
        /(?<![a-z0-9+.-])(postgres(?:ql)?:)(?!\/\/[^:/?#\s@]*:)[^\s@]*:.*@/gi,
      ]) {
        for (const match of line.matchAll(credentials)) {
          const start = offset + match.index + match[1]!.length;
          hidden.push([start, offset + match.index + match[0].length - 1]); // up to the last "@"
        }
      }
    }
    offset += line.length + 1;
  }
  for (const match of text.matchAll(SECRET_VALUE)) {
    hidden.push([match.index + match[1]!.length, match.index + match[0].length]);
  }
  return hideRanges(text, hidden);
}

/** `text` with each range (start, end) shown as `***`, overlapping ones as one. */
function hideRanges(text: string, ranges: [number, number][]): string {
  let shown = "";
  let from = 0;
  let hiding = false;
  for (const [start, end] of ranges.sort((a, b) => a[0] - b[0])) {
    if (hiding && start <= from) {
      from = Math.max(from, end); // within, overlapping or touching the range hidden before
      continue;
    }
    shown += `${text.slice(from, start)}***`;
    from = end;
    hiding = true;
  }
  return shown + text.slice(from);
}

/**
 * The SQLSTATE of a new run whose epic id belongs to another repository (raised by migration 4's trigger).
 * Here, not in migrations.ts: this file is in every call's bundle, the migrations' SQL only in the store's.
 */
export const EPIC_TAKEN = "PPE01";

/** What explainPgError advises when the role lacks a permission (42501). */
const GRANT_ADVICE = "the owner can run `parallel-progress db grant <role> --repo <owner/name>`";

/** Error codes of node's sockets that mean "not reachable now". */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ECONNABORTED",
  "ENOENT", // a unix socket that is not there: the server is not running
]);

/**
 * SQLSTATEs of a database that does not answer now: connection, shutdown, too many connections, timeouts,
 * conflicts; a server short of resources (disk full, out of memory); a read-only one (a standby that a
 * failover left the name pointing at, or a primary set read-only): it takes the change later. A session
 * the server ended for being idle (idle_session_timeout, idle_in_transaction_session_timeout) likewise.
 */
const UNAVAILABLE_STATES = new Set([
  "57P01",
  "57P02",
  "57P03",
  "57P05",
  "25P03",
  "53000",
  "53100",
  "53200",
  "53300",
  "57014",
  "40001",
  "40P01",
  "55P03",
  "25006",
]);

/** Node's TLS and OpenSSL error codes (a certificate refused, no TLS where it was required). */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/**
 * pg's own connection errors carry no code; these two (pg/lib/connection.js, compared whole) are TLS
 * refused at the start, the caller's setting, as are its SCRAM errors (PG_SASL). Every other code-less
 * error of the client is the connection failing (terminated, timed out, not queryable).
 */
const PG_TLS_REFUSED = new Set([
  "The server does not support SSL connections",
  "There was an error establishing an SSL connection",
]);

/**
 * pg's own errors of a SCRAM authentication (pg/lib/crypto/sasl.js, each "SASL: ..."): the handshake
 * failed, which trying again does not change. These two, compared whole: no password was given.
 */
const PG_SASL = "SASL: ";
const PG_NO_PASSWORD = new Set([
  "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string",
  "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string",
]);

/**
 * The startup parameters every connection sends that a pooler may refuse (user, database, application_name
 * and client_encoding aside, which PgBouncer takes): `options` (the safe search_path) and statement_timeout.
 */
const POOLER_PARAMETERS = ["options", "statement_timeout"];

/** What explainPgError advises when a pooler refuses a startup parameter. */
const POOLER_ADVICE = `a pooler in front refuses a startup parameter this tool sends: add ${POOLER_PARAMETERS.join(", ")} to its ignore_startup_parameters (PgBouncer), then revoke CREATE on schema public from the roles, as each session's search_path is then the role's own; or connect to the server directly`;

/**
 * A session refused at its start for a startup parameter, as a pooler refuses one it does not know
 * (PgBouncer: FATAL 08P01 "unsupported startup parameter: statement_timeout", since 1.20 "unsupported
 * options startup parameter: parameter search_path"). PostgreSQL itself refuses a setting with a 22 or 42
 * code; 08P01 is otherwise a protocol violation, which this one is told from by its words only.
 */
function isRefusedStartupParameter(error: Error): boolean {
  return (
    (error as { severity?: unknown }).severity === "FATAL" &&
    /\bunsupported\b.*\bstartup parameter\b/i.test(error.message)
  );
}

/**
 * Turns an error of the database client into ours, by its code: a SQLSTATE, a Node socket or TLS code,
 * or none (pg's own connection errors). The caller's configuration (wrong password, missing database or
 * role, no permission, TLS refused: StoreConfigError, exit 2) or a database that is not answering
 * (StoreUnavailableError: kept on disk, applied later). Never by the message's words (a pooler's refused
 * startup parameter aside: its 08P01 is otherwise a broken connection), so an error of the
 * application or of SQL whose text mentions "timeout" or "connect" stays what it is; errors the
 * application threw (ours, or a TypeError: a bug) are returned as they are. No message carries the password.
 * `noPermission`: the advice for a missing permission (42501).
 */
export function explainPgError(error: unknown, where: string, noPermission = GRANT_ADVICE): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof UsageError || error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  const text = redactText(error.message);
  const unavailable = () => new StoreUnavailableError(`${where} is not answering: ${text}`, { cause: error });
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !NETWORK_CODES.has(code)) {
    if (code === "28P01" || code === "28000")
      return new StoreConfigError(`${where}: authentication failed: ${text}`, { cause: error });
    if (code === "3D000") return new StoreConfigError(`${where}: ${text}`, { cause: error });
    // A new run for an epic id of another repository (migration 4): this call's mistake, not a setting's.
    if (code === EPIC_TAKEN) return new UsageError(`${where}: ${text}`, { cause: error });
    if (code === "42501")
      return new StoreConfigError(`${where}: no permission: ${text} (${noPermission})`, { cause: error });
    if (code === "08P01" && isRefusedStartupParameter(error))
      return new StoreConfigError(
        `${where}: the connection's start was refused: ${text} (${POOLER_ADVICE})`,
        {
          cause: error,
        },
      );
    if (code.startsWith("08") || UNAVAILABLE_STATES.has(code)) return unavailable();
    // A session the server refused at its start for a setting (the URL's `options`: an unknown parameter,
    // a wrong value): FATAL, where the same codes of a statement are ERRORs.
    if ((error as { severity?: unknown }).severity === "FATAL" && /^(22|42)/.test(code))
      return new StoreConfigError(`${where}: the server refused the connection's settings: ${text}`, {
        cause: error,
      });
    return error;
  }
  if (typeof code === "string") {
    // A file the URL names (sslrootcert, sslcert, sslkey) that cannot be read (opened, or read: a folder)
    // is the caller's setting. (A unix socket that is not there fails to connect, not to open: the server
    // is not running.)
    if ((error as NodeJS.ErrnoException).syscall === "open" || code === "EISDIR")
      return new StoreConfigError(`${where}: cannot read a file the URL names: ${text}`, { cause: error });
    if (NETWORK_CODES.has(code)) return unavailable();
    if (TLS_CODE.test(code)) return new StoreConfigError(`${where}: TLS: ${text}`, { cause: error });
    return error;
  }
  // No code: pg's own errors are plain Errors; a TypeError, RangeError... is a bug, not the database.
  if (Object.getPrototypeOf(error) !== Error.prototype) return error;
  if (PG_TLS_REFUSED.has(error.message))
    return new StoreConfigError(`${where}: TLS: ${text}`, { cause: error });
  if (PG_NO_PASSWORD.has(error.message)) {
    return new StoreConfigError(
      `${where}: authentication failed: the server asks for a password and none was given (in the URL, PGPASSWORD or ~/.pgpass): ${text}`,
      { cause: error },
    );
  }
  if (error.message.startsWith(PG_SASL))
    return new StoreConfigError(`${where}: authentication failed: ${text}`, { cause: error });
  return unavailable();
}
