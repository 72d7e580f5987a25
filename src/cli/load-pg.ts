/**
 * Runs `load` (an import of a module that loads `pg`) with `globalThis.navigator` defined as Node 21+ defines
 * it, then removes it. On Node 20, which has no `navigator`, pg's lib/stream.js probes for Cloudflare
 * Workers when it loads by building a `Response`, which loads all of Node's fetch (undici): ~40 ms of every
 * database call. The CLI's lazy bundles load synchronously inside `load`, and nothing else of the process
 * runs meanwhile; the library leaves the globals of its host alone.
 */
export async function loadPg<T>(load: () => Promise<T>): Promise<T> {
  if ("navigator" in globalThis) return load();
  const major = process.versions.node.split(".")[0];
  Object.defineProperty(globalThis, "navigator", {
    value: { userAgent: `Node.js/${major}` },
    configurable: true,
    writable: true,
    enumerable: false,
  });
  try {
    return await load();
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

/** The PostgreSQL store's module, for LazyPgStore in the CLI. */
export const importPgStore = () => loadPg(() => import("../store/pg/pg-store.js"));
