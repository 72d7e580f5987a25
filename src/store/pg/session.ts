import type pg from "pg";

/**
 * What a store's queries share across its pooled connections: the epic, where the database is (for
 * messages: the URL without its password), and what the store learnt of the server so far.
 */
export class Session {
  /**
   * The hot statements (the latest run, the write) are named, so that a long-lived connection (the
   * library's pool, the background writer, `serve`, `watch`) parses and plans each once rather than on
   * every change (measured: a third of the server's CPU per change). A pooler that does not keep a
   * session's statements (transaction pooling) loses them: the store then goes on unnamed.
   */
  named = true;
  /** The schema was found at this release's version (or migrated to it): not checked again. */
  schemaChecked = false;

  constructor(
    readonly epicId: string,
    /** The database as messages name it: the URL without its password. */
    readonly where: string,
  ) {}

  /** A statement named (see `named`) or not. */
  statement(name: string, text: string, values: unknown[]): pg.QueryConfig {
    return this.named ? { name, text, values } : { text, values };
  }
}
