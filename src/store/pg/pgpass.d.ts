/** The part of pgpass (the pg client's own ~/.pgpass reader, no types of its own) this client uses. */
declare module "pgpass" {
  import type { Writable } from "node:stream";

  /** Calls back with the password of the file's first entry matching `info`, or undefined. */
  function pgpass(info: pgpass.ConnectionInfo, callback: (password: string | undefined) => void): void;
  namespace pgpass {
    interface ConnectionInfo {
      host?: string | undefined;
      port?: number | string | undefined;
      database?: string | undefined;
      user?: string | undefined;
    }
    /** Where its warnings go (a file readable by others: ignored, as libpq ignores it). */
    function warnTo(stream: Writable): Writable;
  }
  export = pgpass;
}
