import type pg from "pg";
import { StoreConfigError, StoreUnavailableError, UsageError } from "../../errors.js";

/** The store's connection, as the user gave it (`--store` / PARALLEL_PROGRESS_STORE). */
export interface StoreUrl {
  /** The URL as given: it may hold a password, so it is never printed. */
  url: string;
  /** `postgresql://user@host:port/database`: for messages (no password, no parameters). */
  safe: string;
}

/**
 * Checks a `postgres://` / `postgresql://` URL (libpq's URI form: query parameters such as sslmode,
 * host=/socket/dir, connect_timeout pass through to the client). The message never shows the password.
 */
export function parseStoreUrl(value: string, option = "--store"): StoreUrl {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new UsageError(
      `${option} must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactText(text))}`,
      { cause: error },
    );
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new UsageError(
      `${option} must be a postgres:// or postgresql:// URL, got ${JSON.stringify(redactText(text))}`,
    );
  }
  const host = url.hostname || url.searchParams.get("host") || "localhost";
  const user = decodeSafely(url.username);
  const database = decodeSafely(url.pathname.slice(1));
  const safe = `postgresql://${user ? `${user}@` : ""}${host}${url.port ? `:${url.port}` : ""}/${database}`;
  return { url: text, safe };
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

/** How long to wait for a connection before the database counts as unreachable (ms). */
export const CONNECT_TIMEOUT_MS = 5000;
/** Statement timeout, so a stuck database never hangs a call for long (ms). */
export const STATEMENT_TIMEOUT_MS = 10_000;

/** The settings of every connection this program opens (the store's pool, its listeners, the `db` commands). */
export function connectionConfig(
  url: string,
  {
    connectTimeoutMs = CONNECT_TIMEOUT_MS,
    statementTimeoutMs = STATEMENT_TIMEOUT_MS,
  }: { connectTimeoutMs?: number | undefined; statementTimeoutMs?: number | undefined } = {},
): pg.ClientConfig {
  return {
    connectionString: clientUrl(url),
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
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

/** A URL-like text without what could be a password (`user:secret@` → `user:***@`). */
export function redactText(text: string): string {
  return text.replace(/(\/\/[^/@:]*:)[^@/]*@/, "$1***@").replace(/(password=)[^&]*/gi, "$1***");
}

/** Error codes of node's sockets that mean "not reachable now". */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ENOENT", // a unix socket that is not there: the server is not running
]);

/**
 * Turns a client error into ours: the caller's configuration (wrong password, missing database or role,
 * no permission: UsageError, exit 2) or a database that is not answering (StoreUnavailableError: kept on
 * disk, applied later). Anything else is returned as it is. No message carries the password.
 */
export function explainPgError(error: unknown, where: string): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof UsageError || error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  const text = redactText(error.message);
  if (typeof code === "string") {
    if (code === "28P01" || code === "28000")
      return new StoreConfigError(`${where}: authentication failed: ${text}`, { cause: error });
    if (code === "3D000") return new StoreConfigError(`${where}: ${text}`, { cause: error });
    if (code === "42501")
      return new StoreConfigError(
        `${where}: no permission: ${text} (the owner can run \`parallel-progress db grant <role> --repo <owner/name>\`)`,
        { cause: error },
      );
    if (
      code.startsWith("08") ||
      code === "57P01" ||
      code === "57P02" ||
      code === "57P03" ||
      code === "53300" ||
      code === "57014" ||
      code === "40001" ||
      code === "40P01" ||
      code === "55P03" ||
      NETWORK_CODES.has(code)
    ) {
      return new StoreUnavailableError(`${where} is not answering: ${text}`, { cause: error });
    }
  }
  if (/SSL|certificate|self[- ]signed/i.test(error.message))
    return new StoreConfigError(`${where}: TLS: ${text}`, { cause: error });
  if (/Connection terminated|timeout|ECONNREFUSED|connect/i.test(error.message))
    return new StoreUnavailableError(`${where} is not answering: ${text}`, { cause: error });
  return error;
}
