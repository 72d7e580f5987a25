import { assertEpicId, givenEpic } from "../config/options.js";
import type { Env } from "../config/resolve.js";
import { quote } from "../config/show-value.js";
import { StoreUnavailableError, UsageError } from "../errors.js";
import { maskSecrets } from "../github/redact.js";
import type { RunState } from "../model/types.js";
import { databasePlace, parseStoreUrl } from "./pg/config.js";
import type { PgRunStore, PgStoreOptions } from "./pg/pg-store.js";
import { MAX_TIMER_MS } from "./pg/url-parameters.js";
import type { RunAt, RunStore, Transition } from "./types.js";

/** What LazyPgStore needs of its module (src/store/pg/pg-store.ts). */
export interface PgStoreModule {
  PgRunStore: typeof PgRunStore;
}

/** Where the run lives, as given by `--store`/`--epic` or PARALLEL_PROGRESS_STORE/PARALLEL_PROGRESS_EPIC. */
interface StoreChoice {
  url: string;
  epicId: string;
}

/**
 * The database URL given by `--store`, else PARALLEL_PROGRESS_STORE, or null (the file store in `--dir`).
 * A malformed URL is the caller's mistake: one line naming the option, before anything is done.
 */
export function chooseDatabase(given: { store?: string }, env: Env): string | null {
  const url = given.store?.trim() || env.PARALLEL_PROGRESS_STORE?.trim() || "";
  if (url === "") return null;
  parseStoreUrl(url, given.store?.trim() ? "--store" : "PARALLEL_PROGRESS_STORE");
  return url;
}

/**
 * The database store chosen for a call, or null for the file store in `--dir`. Read at the edge (the CLI)
 * from its options and then the environment; a malformed URL or a missing epic is the caller's mistake.
 */
export function chooseStore(given: { store?: string; epic?: string }, env: Env): StoreChoice | null {
  const url = chooseDatabase(given, env);
  if (url === null) return null;
  const epicId = givenEpic(given.epic, env);
  if (epicId === null) {
    throw new UsageError(
      "a database store needs the run's epic: give --epic <id> or set PARALLEL_PROGRESS_EPIC",
    );
  }
  return { url, epicId };
}

/**
 * A PostgreSQL store that loads its module (and the `pg` client) only when first used, so a call that
 * never reaches the database, and every call with the file store, pays nothing for it.
 */
export class LazyPgStore implements RunStore {
  /** The database and the epic, as messages name them (see location). */
  private readonly place: string;
  readonly database: { database: string; epicId: string };
  /** The URL's secrets (see secrets). */
  private readonly urlSecrets: readonly string[];
  /** The database and user its URL names (see databaseName: which database a change kept is for). */
  readonly names: { database: string; user: string };
  private loading: Promise<PgRunStore> | null = null;
  /** The store once loaded (for now(), which cannot wait). */
  private loaded: PgRunStore | null = null;
  /** The database as messages name it (no password). */
  private readonly where: string;
  /** Set by close(): a store closed before its first use opens no connection afterwards. */
  private closed = false;

  /** `importModule`: how the module is loaded (the CLI loads it in loadPg, src/cli/load-pg.ts). */
  constructor(
    private readonly options: PgStoreOptions,
    private readonly importModule: () => Promise<PgStoreModule> = () => import("./pg/pg-store.js"),
  ) {
    const url = parseStoreUrl(options.url);
    this.where = url.safe;
    ({ location: this.place, database: this.database } = databasePlace(this.where, options.epicId));
    this.urlSecrets = url.secrets;
    this.names = url.names;
  }

  get epicId(): string {
    return this.options.epicId;
  }

  /**
   * Where the run is (the database, no password, and the epic), its secrets masked as they are known: an
   * epic typed as the password ~/.pgpass gives is known to be one only once connected.
   */
  get location(): string {
    return maskSecrets(this.place, this.secrets);
  }

  /** The URL's secrets, and once loaded the store's own (a password ~/.pgpass gave: PgRunStore.secrets). */
  get secrets(): readonly string[] {
    return this.loaded ? this.loaded.secrets : this.urlSecrets;
  }

  /** The loaded store (connections are opened on first query); rejects once closed before it was loaded. */
  load(): Promise<PgRunStore> {
    if (this.closed && !this.loading) {
      return Promise.reject(new StoreUnavailableError(`${this.where}: the store is closed`));
    }
    this.loading ??= this.importModule().then(({ PgRunStore }) => {
      this.loaded = new PgRunStore(this.options);
      return this.loaded;
    });
    return this.loading;
  }

  /** See PgRunStore.correlate. */
  async correlate(id: string, replay: boolean): Promise<void> {
    (await this.load()).correlate(id, replay);
  }

  async read(): Promise<RunState | null> {
    return (await this.load()).read();
  }

  async readRun(runId: string): Promise<RunState | null> {
    return (await this.load()).readRun(runId);
  }

  /** See PgRunStore.runAt. */
  async runAt(time: number): Promise<RunAt | null> {
    return (await this.load()).runAt(time);
  }

  /** See PgRunStore.now; this machine's clock before the database first answered. */
  now(): number {
    return this.loaded ? this.loaded.now() : Date.now();
  }

  async transact<T>(change: (current: RunState | null, now: number) => Transition<T>): Promise<T> {
    return (await this.load()).transact(change);
  }

  async subscribe(listener: () => void): Promise<() => Promise<void>> {
    return (await this.load()).subscribe(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.loading) await (await this.loading).close();
  }
}

/**
 * The PostgreSQL store for a library user: the latest run of `epicId` in the database at `url`, with a
 * pool of connections (default 10) for a long-lived process. `pg` is loaded on first use. Pass it as the
 * reporter's `store`; call `close()` when done.
 */
export function createPostgresStore(options: PgStoreOptions): LazyPgStore {
  return new LazyPgStore(checkStoreOptions(options));
}

/**
 * The least each number of PgStoreOptions may be (a timeout of 0 would be none: a stuck database hangs):
 * one for each option but the two strings, which the type holds to.
 */
const LEAST: Record<Exclude<keyof PgStoreOptions, "url" | "epicId">, number> = {
  maxConnections: 1,
  connectTimeoutMs: 1,
  statementTimeoutMs: 1,
  optimisticAttempts: 0,
};

/** The keys of PgStoreOptions. */
const KNOWN = new Set<string>(["url", "epicId", ...Object.keys(LEAST)]);

/**
 * The library caller's options, checked before anything is done (the CLI makes its stores from checked
 * options): a UsageError naming the option and the value, rather than a database error at the first call
 * (a missing epic) or a timeout that is no timeout. The epic id is trimmed, as the CLI trims `--epic`.
 */
function checkStoreOptions(options: PgStoreOptions): PgStoreOptions {
  const where = "createPostgresStore: options";
  if (typeof options !== "object" || options === null) {
    throw new UsageError(`${where} must be an object, got ${quote(options)}`);
  }
  if (typeof options.url !== "string") {
    throw new UsageError(
      `${where}.url must be a postgres:// or postgresql:// URL, got ${quote(options.url)}`,
    );
  }
  parseStoreUrl(options.url, `${where}.url`);
  if (typeof options.epicId !== "string") {
    throw new UsageError(`${where}.epicId must be the run's epic id, got ${quote(options.epicId)}`);
  }
  const epicId = assertEpicId(options.epicId, `${where}.epicId`);
  // Named, its value not shown (a misnamed key may hold a password); a typo is not dropped unseen.
  const unknown = Object.keys(options).find((key) => !KNOWN.has(key));
  if (unknown !== undefined) {
    throw new UsageError(`${where} has an unknown key ${unknown}: expected ${[...KNOWN].join(", ")}`);
  }
  for (const [name, least] of Object.entries(LEAST) as [keyof typeof LEAST, number][]) {
    const value = options[name];
    // The timeouts at most MAX_TIMER_MS, the longest a timer waits: a longer one fired at once (Node
    // printing a warning), and the database was taken for down.
    const most = name.endsWith("TimeoutMs") ? MAX_TIMER_MS : Number.MAX_SAFE_INTEGER;
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= least && value <= most)) {
      const range = most === MAX_TIMER_MS ? `from ${least} to ${most}` : `of at least ${least}`;
      throw new UsageError(`${where}.${name} must be a whole number ${range}, got ${quote(value)}`);
    }
  }
  return { ...options, epicId };
}
