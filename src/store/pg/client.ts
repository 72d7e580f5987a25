import { Writable } from "node:stream";
import pg from "pg";
import type pgpass from "pgpass";

/**
 * The pool's client: one that closes its socket when connecting fails, and whose connection's end never
 * crashes the process. The pg client leaves the socket open after an error of its own while connecting (a
 * SCRAM password that was not given: the server waits for the rest of the handshake), and the pool drops
 * such a client without ending it, so the socket kept the process alive until the server gave up
 * (authentication_timeout, a minute by default). And it emits "error" when the server ends the connection
 * while no query runs (pg_terminate_backend, a restart): the pool listens only while the client is idle,
 * the store from its first statement, and between the two (the pool hands the client out, the store has
 * not taken it yet) nobody did, so the event was thrown: an agent's call ended in a stack trace, exit 1.
 * The query that follows fails instead, as the database not answering.
 */
export class ClosingClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on("error", () => undefined);
    // No password in the URL or PGPASSWORD: the password file, read as pg would read it, but quietly (pg
    // prints a deprecation warning for its own reading, at every connection).
    const self = this as unknown as { password: unknown };
    if (self.password === null) {
      self.password = async (parameters: pgpass.ConnectionInfo) => {
        const password = await passwordFile(parameters);
        if (password) this.passwordRead(password);
        return password;
      };
    }
  }

  /** Told the password the password file gave, when it gave one (a secret no URL or environment holds). */
  protected passwordRead(_password: string): void {}

  override connect(): Promise<pg.Client>;
  override connect(callback: (error: Error) => void): void;
  override connect(callback?: (error: Error) => void): Promise<pg.Client> | undefined {
    if (!callback) {
      return super.connect().catch((error: unknown) => {
        this.closeSocket();
        throw error;
      });
    }
    super.connect((error: Error) => {
      if (error) this.closeSocket();
      callback(error);
    });
    return undefined;
  }

  /**
   * Ends the connection at once, without the goodbye `end()` waits on: for a server that stopped answering
   * (a frozen host keeps the socket open, and would never answer the goodbye either).
   */
  closeSocket(): void {
    this.connection.stream.destroy();
  }
}

/** How long a connection's goodbye is waited for before its socket is closed (see endWithin). */
export const GOODBYE_WAIT_MS = 1000;

/**
 * Ends `client`'s connection: its goodbye, then, if the server has not answered it within `waitMs`, its
 * socket closed. Never rejects: a process that is shutting down (SIGTERM, a timeout) must not hang on a
 * database that stopped answering.
 */
export async function endWithin(client: ClosingClient, waitMs = GOODBYE_WAIT_MS): Promise<void> {
  if (!(await settledWithin(client.end(), waitMs))) client.closeSocket();
}

/** Whether `work` settled (resolved or rejected) within `waitMs`; the timer is cleared either way. */
export async function settledWithin(work: Promise<unknown>, waitMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}

/**
 * The password of `~/.pgpass` (or PGPASSFILE) for the connection, as libpq reads it: the first matching
 * entry, and none from a file that others may read (ignored without a word; the connection then reports
 * the password missing).
 */
async function passwordFile(parameters: pgpass.ConnectionInfo): Promise<string | undefined> {
  const { default: read } = await import("pgpass");
  read.warnTo(new Writable({ write: (_chunk, _encoding, done) => done() }));
  return new Promise((resolve) => read(parameters, resolve));
}
