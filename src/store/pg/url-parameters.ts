import { quote } from "../../config/show-value.js";
import { UsageError } from "../../errors.js";

/**
 * The query parameters a store URL may carry: libpq's connection parameters (PostgreSQL 18's list) and
 * the pg client's own `ssl` and `uselibpqcompat`. Any other name is refused, as libpq refuses it ("invalid
 * URI query parameter"): a misspelt parameter (`sslmod=require`) would otherwise be dropped in silence and
 * the connection made without what it asked for. A value that can be checked is checked here, so that a
 * wrong one is the caller's mistake (exit 2) and not taken for a database that does not answer.
 */

const oneOf =
  (...values: string[]) =>
  (value: string) =>
    values.includes(value) ? null : `must be one of ${values.join(", ")}`;

/** libpq's integers (it takes a sign: a connect_timeout of 0 or less means no limit there). */
const integer = (value: string) => (/^-?\d{1,9}$/.test(value) ? null : "must be a whole number");

/** A port as libpq reads it (strtol: a sign and leading zeros taken, `022229` is 22229), from 1 to 65535. */
const port = (value: string) => {
  const number = /^\+?\d{1,10}$/.test(value) ? Number(value) : 0;
  return number >= 1 && number <= 65_535 ? null : "must be a port number from 1 to 65535";
};

/**
 * A boolean as the server reads a startup parameter (parse_bool): any case, and a prefix of true, false,
 * yes or no (`t`, `fa`), on or off from two letters (`of`), 1 or 0. Null when it is none of them.
 */
function serverBoolean(value: string): boolean | null {
  const word = value.toLowerCase();
  if (word === "1") return true;
  if (word === "0") return false;
  const prefixOf = (full: string, least = 1) => word.length >= least && full.startsWith(word);
  if (prefixOf("true") || prefixOf("yes") || prefixOf("on", 2)) return true;
  if (prefixOf("false") || prefixOf("no") || prefixOf("off", 2)) return false;
  return null;
}

type Check = ((value: string) => string | null) | null;

/**
 * Whether session options (the URL's `options`, PGOPTIONS) end with a backslash that escapes nothing: the
 * server reads a backslash as escaping the next character, so the space before the settings this tool adds
 * after the caller's would be escaped (`search_path=public\ -c ...` read as one value).
 */
export function endsWithEscape(options: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\\$/.test(options);
}

/** What is wrong with session options that end with a lone backslash (endsWithEscape). */
export const ENDS_WITH_ESCAPE =
  'ends with a "\\" that escapes nothing: remove it (a backslash of a value is written "\\\\")';

const PARAMETERS: Readonly<Record<string, Check>> = {
  host: null,
  hostaddr: null,
  port,
  dbname: null,
  user: null,
  password: null,
  passfile: null,
  require_auth: null,
  channel_binding: oneOf("disable", "prefer", "require"),
  connect_timeout: integer,
  client_encoding: null,
  options: (value) => (endsWithEscape(value) ? ENDS_WITH_ESCAPE : null),
  application_name: null,
  fallback_application_name: null,
  keepalives: integer,
  keepalives_idle: integer,
  keepalives_interval: integer,
  keepalives_count: integer,
  tcp_user_timeout: integer,
  // A replication connection runs no ordinary statement (the server refuses them, which looked like a
  // database down): only "off" is of use to the store, in any spelling the server takes.
  replication: (value) => {
    const on = value.toLowerCase() === "database" ? true : serverBoolean(value);
    if (on === false) return null;
    return on
      ? "must be off (a replication connection runs none of the store's statements)"
      : "must be off (false, off, no or 0, in any case)";
  },
  gssencmode: oneOf("disable", "prefer", "require"),
  // libpq's "allow" (unencrypted first, TLS if the server insists) is one the pg client cannot do: it
  // would require TLS and check the certificate, the opposite; refused rather than taken otherwise.
  sslmode: (value) =>
    value === "allow"
      ? "allow is not one the client can do (it starts unencrypted only with disable): use disable, prefer or require"
      : oneOf("disable", "prefer", "require", "verify-ca", "verify-full")(value),
  sslnegotiation: oneOf("postgres", "direct"),
  sslcompression: oneOf("0", "1"),
  sslcert: null,
  sslkey: null,
  sslkeylogfile: null,
  sslpassword: null,
  sslcertmode: oneOf("disable", "allow", "require"),
  sslrootcert: null,
  sslcrl: null,
  sslcrldir: null,
  sslsni: oneOf("0", "1"),
  requirepeer: null,
  ssl_min_protocol_version: oneOf("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
  ssl_max_protocol_version: oneOf("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
  min_protocol_version: null,
  max_protocol_version: null,
  krbsrvname: null,
  gsslib: null,
  gssdelegation: oneOf("0", "1"),
  service: null,
  target_session_attrs: oneOf("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
  load_balance_hosts: oneOf("disable", "random"),
  oauth_issuer: null,
  oauth_client_id: null,
  oauth_client_secret: null,
  oauth_scope: null,
  // The pg client's own ("false" is not one: the client would read it as true).
  ssl: oneOf("true", "1", "0"),
  uselibpqcompat: oneOf("true", "false"),
};

/** Values that are secrets: never shown in a message. */
export const SECRET = new Set(["password", "sslpassword", "oauth_client_secret"]);

/**
 * Where a secret parameter's value ends in a text that quotes a URL: at the next "&" that starts a
 * parameter of this list (a secret that was not percent-encoded may hold "&" itself), or at the line's end.
 */
export const SECRET_VALUE = new RegExp(
  `((?:${[...SECRET].join("|")})=).*?(?=&(?:${Object.keys(PARAMETERS).join("|")})=|$)`,
  "gim",
);

/**
 * Throws a UsageError naming the first parameter of `url` that is not a connection parameter, or whose
 * value is not one it takes (the URL's own port included). `option` names where the URL came from.
 */
export function checkParameters(url: URL, option: string): void {
  if (url.port !== "" && port(url.port) !== null) {
    throw new UsageError(`${option}: the port must be a port number from 1 to 65535, got ${quote(url.port)}`);
  }
  let afterSecret = false;
  for (const [name, value] of url.searchParams) {
    if (!Object.hasOwn(PARAMETERS, name)) {
      // Not named: it may be the rest of a secret whose "&" was not percent-encoded.
      if (afterSecret) {
        throw new UsageError(
          `${option}: a password parameter is followed by something that is not a parameter: percent-encode a password's "&" as %26`,
        );
      }
      throw new UsageError(
        `${option}: unknown parameter ${quote(name)}: the URL takes libpq's connection parameters (sslmode, connect_timeout, application_name, ...)`,
      );
    }
    const problem = parameterProblem(name, value);
    if (problem !== null) {
      // Not a secret's value, nor one right after a secret (it may be the rest of a password with an "&").
      const shown = SECRET.has(name) || afterSecret ? "" : `, got ${quote(value)}`;
      throw new UsageError(`${option}: ${name} ${problem}${shown}`);
    }
    afterSecret = SECRET.has(name);
  }
}

/**
 * libpq (and the pg client) take a user with no host, `postgresql://user@/db?host=/run/postgresql` (a unix
 * socket); the WHATWG URL parser refuses credentials without a host. Checked with a stand-in host, which
 * the message leaves out; the client gets the URL as given.
 */
export const NO_HOST = "no-host.invalid";
export const withoutEmptyHost = (text: string) =>
  text.replace(/^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/i, `$1${NO_HOST}`);

/** What is wrong with `value` for the connection parameter `name` (one PARAMETERS knows), or null. */
export function parameterProblem(name: string, value: string): string | null {
  return PARAMETERS[name]?.(value) ?? null;
}

/** The longest a Node timer waits (a longer one fires at once, with a warning printed). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How long a connection waits (ms) as the URL's connect_timeout says (whole seconds, libpq's least 2, and
 * at most MAX_TIMER_MS: about 24.8 days, as good as none), or null: not given, or 0 or less, which libpq
 * takes for no limit and this tool does not do (its default).
 */
export function urlConnectTimeoutMs(url: URL): number | null {
  const value = url.searchParams.get("connect_timeout");
  const seconds = value === null ? 0 : Number(value);
  return seconds > 0 ? Math.min(MAX_TIMER_MS, Math.max(2, seconds) * 1000) : null;
}
