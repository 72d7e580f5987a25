import { CONFLICT_MARK } from "./statements.js";

// What the store's errors mean: which are the application's own, which the database's, and, of those, which
// call for a new read (a conflict), a migration, unnamed statements, or a new connection.

/** A replayed change that the run already holds (matched by its correlation id). Checked by name. */
export class AlreadyAppliedError extends Error {
  override name = "AlreadyAppliedError";
  constructor(readonly correlationId: string) {
    super(`change ${correlationId} is already applied`);
  }
}

/** The schema is older than this release: migrate, then try again. */
export class SchemaBehind extends Error {}

/** A bug: a write under the run row's lock found the run or an agent changed. */
export class LostRowError extends Error {
  override name = "LostRowError";
  constructor() {
    super("a locked write lost its row");
  }
}

/** Errors a change threw itself (refused: an unknown agent, a finalized run...), not the database's. */
const notFromDatabase = new WeakSet<object>();

/** Marks what a change threw as the application's (see isOurs). */
export function markOurs(error: unknown): void {
  if (typeof error === "object" && error !== null) notFromDatabase.add(error);
}

/** Not the database's error: the application's, on a healthy connection; never reclassified. */
export function isOurs(error: unknown): boolean {
  return (
    (typeof error === "object" && error !== null && notFromDatabase.has(error)) ||
    error instanceof AlreadyAppliedError ||
    error instanceof SchemaBehind ||
    error instanceof LostRowError
  );
}

/**
 * The write found an agent changed since the change read it (CONFLICT_MARK), or an agent it adds has a
 * domain that another change added meanwhile (the change, made again, refuses it), or a database whose
 * default isolation is REPEATABLE READ or SERIALIZABLE refused it for a row another change wrote while it
 * waited (40001, where READ COMMITTED, the store's own level, reads that row again): it wrote nothing.
 */
export function isConflict(error: unknown): boolean {
  const { code, message, constraint } = error as { code?: unknown; message?: unknown; constraint?: unknown };
  if (code === "40001") return true;
  if (code === "23505") return constraint === "agents_run_id_domain_key";
  return code === "22P02" && typeof message === "string" && message.includes(CONFLICT_MARK);
}

/**
 * The schema, a table or a column is missing: the database has no schema or an older one (or another process
 * is migrating it right now, between two migrations): migrate (under the lock), then try again.
 */
export function isMissingSchema(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "3F000" || code === "42P01" || code === "42703";
}

/** A named statement the server does not have (26000), or has already (42P05): a transaction pooler. */
export function isLostStatement(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "26000" || code === "42P05";
}

/**
 * A connection that failed mid-query (a socket error or pg's own connection error: no SQLSTATE; or a
 * connection-class SQLSTATE) is not given back to the pool. Called for the database's errors only. Nor is
 * one whose server takes no writes (25006, read_only_sql_transaction: a standby, e.g. after a failover, or a
 * session begun read-only): kept, it would refuse every change until the pool's idle timeout, while a new
 * connection reaches the new primary when the host name moved.
 */
export function isBroken(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith("08") || code.startsWith("57P") || code === "25006";
}
