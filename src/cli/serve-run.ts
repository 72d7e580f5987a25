import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { hideFrom, quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { startLiveServer } from "../serve/server.js";
import { FileRunStore } from "../store/file-store.js";
import { chooseStore, LazyPgStore } from "../store/open-store.js";
import type { RunStore } from "../store/types.js";
import { nodeFileSystem } from "../util/node-fs.js";
import { importPgStore } from "./load-pg.js";
import { createOutput } from "./output.js";
import { givenToken, type ServeCliOptions } from "./serve.js";

/** The page's files: `web/` at the package's root, two levels above this bundle (dist/cli). */
function assetsDir(): string {
  return join(__dirname, "..", "..", "web");
}

/** Serves the live view until SIGINT/SIGTERM, or the run's finalize with --exit-on-finalize. */
export async function runServe(options: ServeCliOptions): Promise<number> {
  const out = createOutput({ quiet: options.quiet ?? false, verbose: options.verbose ?? false, once: false });
  const token = givenToken(options.token, process.env);
  const dir = resolve(options.dir);
  // With a database store (--store/--epic) the page follows the epic's latest run through LISTEN/NOTIFY.
  const chosen = chooseStore(options, process.env);
  if (!chosen && !existsSync(dir))
    throw new UsageError(`--dir: no such directory, got ${quote(options.dir)}`);
  // The file store follows its state folder, made by init or removed and made again, on its own.
  const store: RunStore = chosen
    ? new LazyPgStore({ ...chosen, maxConnections: 2 }, importPgStore)
    : new FileRunStore(nodeFileSystem(), dir);
  // No message echoes a secret the store learns on connecting (the password ~/.pgpass gave).
  hideFrom(() => store.secrets ?? []);
  // The signals are ours from the start: one given while the server starts (its first read waiting on
  // a database that does not answer) stops it too, and before `listening` is printed a caller that stops
  // the server on reading it is heard. A signal drops the pages' streams (they reconnect to a restarted
  // server); a finalize tells them the run ended.
  let onSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    onSignal = resolveSignal;
  });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const ourSignalsBack = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  const starting = startLiveServer({
    source: store,
    assetsDir: assetsDir(),
    host: options.host,
    port: options.port,
    token: token ?? null,
  });
  const started = await Promise.race([
    starting.then(
      (server) => ({ server }),
      (error: unknown) => ({ error }),
    ),
    signalled.then((signal) => ({ signal })),
  ]);
  if ("signal" in started) {
    out.info(`stopping (${started.signal})`);
    // Closing the store ends the start-up's reads and connections (their sockets closed after a second).
    await store.close();
    await starting.then(
      (server) => server.close(null),
      () => undefined,
    );
    ourSignalsBack();
    return 0;
  }
  if ("error" in started) {
    ourSignalsBack();
    await store.close();
    throw started.error;
  }
  const { server } = started;
  let unlisten: () => void = () => undefined;
  const stopped = Promise.race([
    signalled.then((signal) => ({ finalized: false, why: signal })),
    new Promise<{ finalized: boolean; why: string }>((resolveStop) => {
      if (!options.exitOnFinalize) return;
      const check = () => {
        if (server.live.current?.run.completedAt != null) resolveStop({ finalized: true, why: "finalize" });
      };
      unlisten = server.live.listen(check);
      check();
    }),
  ]);
  out.data(`listening ${server.url}`);
  // A run it cannot read is not "no run": the page says why too, and shows it once it can be read. Said
  // again whenever a read fails anew (a database that stopped answering, a state file broken since).
  const unreadable = (problem: string) =>
    out.warn(`cannot read the run: ${problem}; the page shows it once it can be read`);
  const problem = server.live.problem;
  if (problem !== null) unreadable(problem);
  else if (server.live.current === null)
    out.warn(`no run in ${chosen ? store.location : dir} yet: the page shows it once \`init\` starts one`);
  // Once while the run stays unreadable (a flapping link's errors differ read by read), again after it
  // was read.
  let failing = problem !== null;
  const unlistenProblems = server.live.listen((message) => {
    if (message.kind === "problem" && !failing) unreadable(message.message);
    failing = message.kind === "problem";
  });
  const stop = await stopped;
  // Stopped by a finalize, the signals are the process's own again (a library caller's or Node's).
  ourSignalsBack();
  unlisten();
  unlistenProblems();
  out.info(`stopping (${stop.why})`);
  await server.close(stop.finalized ? "the run is finalized" : null);
  await store.close();
  return 0;
}
