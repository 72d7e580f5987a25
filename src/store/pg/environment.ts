import { quote } from "../../config/show-value.js";
import { UsageError } from "../../errors.js";
import { NO_HOST, parameterProblem, withoutEmptyHost } from "./url-parameters.js";

/** The TLS modes under which the pg client starts TLS (`disable` aside, the ones it takes). */
const TLS_MODES = new Set(["prefer", "require", "verify-ca", "verify-full"]);

/**
 * Throws a UsageError naming the first PG* variable of `env` that the pg client would read for the store
 * URL `text` and that holds a value it cannot use, checked as the URL's own value is (url-parameters.ts):
 * a PGPORT that is not a port (the client connected to port NaN or 99999 and threw a RangeError), a
 * PGSSLMODE that is not a mode (the client connected without TLS, in silence), a PGSSLNEGOTIATION it
 * throws on, a PGREPLICATION (a connection that runs no statement) or a PGHOST with several hosts (looked
 * up as a name, never found), or a PGOPTIONS ending in a lone backslash (which would escape the
 * search_path the tool adds after it). The client reads a variable only when the URL does not say
 * (pg/lib/connection-parameters.js), and an empty one as unset; so does this. None of these is a secret.
 */
export function checkEnvironment(text: string, env: Readonly<Record<string, string | undefined>>): void {
  const url = new URL(withoutEmptyHost(text.trim()));
  const query = url.searchParams;
  const refuse = (name: string, problem: string, value: string) => {
    throw new UsageError(`${name} ${problem}, got ${quote(value)}`);
  };
  const given = (name: string): string => env[name] ?? "";

  // libpq's reading: digits, white space around them allowed ("5432x" is refused, as libpq refuses it:
  // the pg client's parseInt took it for 5432).
  const port = given("PGPORT");
  if (port !== "" && !query.get("port") && url.port === "") {
    const problem = parameterProblem("port", port.trim());
    if (problem !== null) refuse("PGPORT", problem, port);
  }

  const host = given("PGHOST");
  const urlHost = (url.hostname === NO_HOST ? "" : url.hostname) || query.get("host");
  if (host.includes(",") && !urlHost) {
    refuse(
      "PGHOST",
      "names several hosts, which this client cannot try in turn: give one host (a name that follows the primary, or a pooler in front)",
      host,
    );
  }

  // The session options the tool's own search_path is added after (config.ts: withSafeSearchPath).
  const options = given("PGOPTIONS");
  if (options !== "" && !query.get("options")) {
    const problem = parameterProblem("options", options);
    if (problem !== null) refuse("PGOPTIONS", problem, options);
  }

  const replication = given("PGREPLICATION");
  if (replication !== "" && !query.get("replication")) {
    const problem = parameterProblem("replication", replication);
    if (problem !== null) refuse("PGREPLICATION", problem, replication);
  }

  let tls = urlTls(query);
  const sslmode = given("PGSSLMODE");
  if (tls === null) {
    if (sslmode !== "") {
      const problem = parameterProblem("sslmode", sslmode);
      if (problem !== null) refuse("PGSSLMODE", problem, sslmode);
    }
    tls = TLS_MODES.has(sslmode);
  }

  const negotiation = given("PGSSLNEGOTIATION");
  if (negotiation !== "" && !query.get("sslnegotiation")) {
    const problem = parameterProblem("sslnegotiation", negotiation);
    if (problem !== null) refuse("PGSSLNEGOTIATION", problem, negotiation);
    if (negotiation === "direct" && !tls) {
      throw new UsageError(
        "PGSSLNEGOTIATION=direct needs TLS: set PGSSLMODE (or the URL's sslmode) to require, verify-ca or verify-full",
      );
    }
  }
}

/**
 * Whether the URL turns TLS on (true) or off (false), as the pg client reads it, or null when it does not
 * say, and the client reads PGSSLMODE.
 */
function urlTls(query: URLSearchParams): boolean | null {
  const sslmode = query.get("sslmode");
  if (sslmode) return sslmode !== "disable";
  if (query.get("sslcert") || query.get("sslkey") || query.get("sslrootcert")) return true;
  const ssl = query.get("ssl");
  if (ssl) return ssl !== "0";
  if (query.get("sslnegotiation") === "direct") return true;
  return null;
}
