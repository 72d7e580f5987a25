import pg from "pg";

/**
 * The pool's client: one that closes its socket when connecting fails. The pg client leaves the socket
 * open after an error of its own while connecting (a SCRAM password that was not given: the server waits
 * for the rest of the handshake), and the pool drops such a client without ending it, so the socket kept
 * the process alive until the server gave up (authentication_timeout, a minute by default).
 */
export class ClosingClient extends pg.Client {
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

  private closeSocket(): void {
    this.connection.stream.destroy();
  }
}
