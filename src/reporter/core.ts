import type { EventEmitter } from "node:events";
import { resolve } from "node:path";
import type { GitHubOverrides } from "../config/github-target.js";
import { webHost } from "../config/origin-host.js";
import { type Env, environmentTokens, ghAuthToken, tokenFromEnvironment } from "../config/resolve.js";
import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import { maskSecrets } from "../github/redact.js";
import type { CallOptions, IssueCommentsClient } from "../github/types.js";
import type { RunPlace } from "../model/run.js";
import type { RunState } from "../model/types.js";
import { OfflineQueue } from "../queue/offline-queue.js";
import { FileRunStore } from "../store/file-store.js";
import { storeTime } from "../store/store-time.js";
import type { RunStore } from "../store/types.js";
import { type LocalWriters, localWriters } from "../sync/local-writer.js";
import type { RequestTimes } from "../sync/pacer.js";
import { RunSyncer, type SyncDeps } from "../sync/run-syncer.js";
import { atLeastRealTime, type Clock, type FileSystem, isDateMs, systemClock } from "../util/io.js";
import { nodeFileSystem } from "../util/node-fs.js";
import { randomHex } from "../util/random.js";
import { sleep } from "../util/sleep.js";
import { TimerWriter } from "./background-writer.js";
import { reporterClient, runApiElsewhere } from "./client.js";
import { Listeners } from "./listeners.js";
import { stateWithout } from "./masking.js";
import type { ReporterEvents, ReporterOptions } from "./types.js";

/** An epic directory with its store and queue (ReporterCore.workplace). */
export interface Workplace {
  epicDir: string;
  store: RunStore;
  queue: OfflineQueue;
}

/**
 * What the parts of a reporter share (src/reporter.ts is their façade): the options, the epic directory
 * with its store and queue (bound again when an init that names another directory started its run there), a syncer for each call, the
 * state the reporter last saw, its listeners and its background writer.
 */
export class ReporterCore {
  epicDir: string;
  readonly fs: FileSystem;
  /** The run's clock: its times (the file store's, the queue's), and when writes fall due by them. */
  readonly clock: Clock;
  /** The clock of deadlines, waits and lifetimes: `clock`, kept up with real time (SyncDeps.timer). */
  readonly timer: Clock;
  readonly env: Env;
  readonly overrides: GitHubOverrides;
  /** The state as this reporter last saw it: set by read() and changed() only. */
  private lastSeen: RunState | null = null;
  /** How many changes this reporter made (read() keeps a state older than the last of them out). */
  private changes = 0;
  /** When its latest change was made (this reporter's timer): the timer writer lives on 15 s from it. */
  lastChangeAt = Number.NEGATIVE_INFINITY;
  /** When this reporter's last GitHub request ended, shared by its syncers (see RunSyncer). */
  private readonly requests: RequestTimes = { lastEndedAt: Number.NEGATIVE_INFINITY };
  store!: RunStore;
  queue!: OfflineQueue;
  /** What every syncer of this reporter works with, but the owner token, which is each one's own. */
  private deps!: Omit<SyncDeps, "owner">;
  readonly listeners: Listeners;
  readonly writer: TimerWriter;
  /** The GitHub client by API URL (see reporterClient). */
  private readonly client: (apiUrl: string, options?: CallOptions) => Promise<IssueCommentsClient>;
  /** This machine's background writers (their claims marked, seen gone when killed). */
  private readonly writers: LocalWriters;
  /** Tokens `gh auth token` gave this reporter (in no environment: see secrets()), and its answers by host. */
  private readonly learned = new Set<string>();
  private readonly ghTokens = new Map<string, Promise<string | null>>();

  constructor(
    readonly events: EventEmitter<ReporterEvents>,
    epicDir: string,
    readonly options: ReporterOptions,
  ) {
    // Given by the names of its methods (FileSystemLike): they are Node's, or memfs's, which do the same.
    this.fs = (options.fs as FileSystem | undefined) ?? nodeFileSystem();
    this.writers = localWriters(this.fs);
    this.clock = options.clock ? checkedClock(options.clock) : systemClock;
    this.timer = atLeastRealTime(this.clock);
    this.env = options.env ?? process.env;
    this.overrides = options.github ?? {};
    this.listeners = new Listeners(events, options);
    this.writer = new TimerWriter(this);
    this.client = reporterClient(
      options,
      this.env,
      this.clock,
      () => this.secrets(),
      (apiUrl) => this.runApiElsewhere(apiUrl),
      (apiUrl) => this.ghToken(apiUrl),
    );
    this.epicDir = resolve(epicDir);
    this.bind(this.workplace(this.epicDir));
  }

  /** Why this call would not write a run posting to `apiUrl` (see runApiElsewhere), or null. */
  runApiElsewhere(apiUrl: string): string | null {
    const shared = this.store.database !== undefined;
    return runApiElsewhere(this.options, this.env, apiUrl, shared, () => this.secrets());
  }

  /**
   * The store (unless one was given) and queue of `epicDir`, not yet this reporter's: this reporter's own
   * when it is its directory. An init that names another directory starts its run there, and bind()s it
   * only once the run has started, so an init refused leaves the reporter where it was.
   */
  workplace(epicDir: string): Workplace {
    const dir = resolve(epicDir);
    if (dir === this.epicDir && this.store) return { epicDir: dir, store: this.store, queue: this.queue };
    return {
      epicDir: dir,
      store: this.options.store ?? new FileRunStore(this.fs, dir, { clock: this.clock }),
      queue: new OfflineQueue(
        this.fs,
        dir,
        this.clock,
        (aside) =>
          this.warn(
            `queue file ${aside.name} is unreadable (${aside.reason}); moved aside as ${aside.movedTo}`,
          ),
        (message) => this.warn(message),
      ),
    };
  }

  /** Works in `place` (see workplace) from now on. */
  bind(place: Workplace): void {
    ({ epicDir: this.epicDir, store: this.store, queue: this.queue } = place);
    this.deps = {
      store: this.store,
      queue: this.queue,
      clock: this.clock,
      timer: this.timer,
      sleep: this.options.sleep ?? sleep,
      client: (apiUrl, options) => this.client(apiUrl, options),
      startBackgroundWriter: () => this.writer.start(),
      ...(this.options.standbyWriter ? { startStandbyWriter: this.options.standbyWriter } : {}),
      warn: (message) => this.warn(message),
      maskState: this.maskState,
      writers: this.writers,
    };
  }

  /**
   * A syncer for one call, retry or background writer of this reporter, with an owner token of its own:
   * two of them at once (calls made together, the timer writer) take the run's leases in turn as two
   * processes do, so one reporter never has two GitHub writes in flight.
   */
  actor(): RunSyncer {
    return new RunSyncer({ ...this.deps, owner: randomHex(16) }, this.requests);
  }

  /** The state as this reporter last saw it (`executionState`). */
  get state(): RunState | null {
    return this.lastSeen;
  }

  /** Where the run is looked for, for messages: the database store's epic, else the epic directory. */
  get place(): RunPlace {
    return this.store.database ?? this.epicDir;
  }

  /**
   * Loads the run (no checks). What it read becomes `state` unless a change of this reporter's landed
   * meanwhile: that change's state is newer than the read (which may have started before it) and stays.
   */
  async read(): Promise<RunState | null> {
    const changes = this.changes;
    const state = await this.store.read();
    if (this.changes === changes) this.lastSeen = state;
    return state;
  }

  /**
   * The time a run is judged at (stalled marks, the ETA, when a wait ends): the store's clock (a
   * database's), else this reporter's.
   */
  storeNow(): number {
    return storeTime(this.store, () => this.clock.now());
  }

  /** How many changes this reporter made. */
  get changeCount(): number {
    return this.changes;
  }

  /** The state a change of this reporter's made: `executionState` from now on. */
  changed(state: RunState): void {
    this.lastSeen = state;
    this.changes++;
    this.lastChangeAt = this.timer.now();
  }

  /**
   * A warning to the caller's listeners (Listeners.warn), masked as agents' text is: whatever it quotes (a
   * given GitHub client's or store's message) never shows a token.
   */
  warn(message: string): void {
    this.listeners.warn(this.masked(message));
  }

  /** Agents' text with this reporter's secrets (see secrets()) and anything shaped like a token masked. */
  masked<T extends string | null | undefined>(text: T): T {
    return typeof text === "string" ? (maskSecrets(text, this.secrets()) as T) : text;
  }

  /**
   * The run as it may be posted or queued (SyncDeps.maskState): with no token in the environment, gh is
   * asked for the token of the run's API host first (learnTokens); the run's text is then masked with the
   * tokens gh gave (the rest of the secrets were masked when the text was kept).
   */
  readonly maskState = async (state: RunState): Promise<RunState> => {
    await this.learnTokens(state.github.apiUrl);
    return stateWithout(state, [...this.learned]);
  };

  /**
   * With no token in the environment (and no client given), asks gh for the token of `apiUrl`'s host, so
   * that it is masked (secrets()) and refused in names: it is in no environment.
   */
  async learnTokens(apiUrl: string): Promise<void> {
    if (this.tokenFromGh()) await this.ghToken(apiUrl).catch(() => null);
  }

  /** Whether learnTokens(apiUrl) would ask gh (no token in the environment, no client, not asked yet). */
  mayLearnTokens(apiUrl: string): boolean {
    return this.tokenFromGh() && !this.ghTokens.has(webHost(apiUrl));
  }

  /** Whether the token would come from gh: no client was given, and no environment holds one. */
  private tokenFromGh(): boolean {
    return !this.options.client && tokenFromEnvironment(this.env) === null;
  }

  /** The token gh gives for `apiUrl`'s host, asked once per host, and kept as a secret (learned). */
  private ghToken(apiUrl: string): Promise<string | null> {
    const host = webHost(apiUrl);
    let asked = this.ghTokens.get(host);
    if (!asked) {
      asked = ghAuthToken({ hostname: host, env: this.env }).then((token) => {
        if (token) this.learned.add(token);
        return token;
      });
      this.ghTokens.set(host, asked);
    }
    return asked;
  }

  /**
   * The secrets kept out of what this reporter keeps and says: the environment's tokens, the store's (a
   * password its file gave included, once read), and the tokens `gh auth token` gave (known only once gh
   * was asked: learnTokens, by a write, what is posted or queued, init and add of a run that posts).
   */
  secrets(): string[] {
    return [...environmentTokens(this.env), ...(this.store.secrets ?? []), ...this.learned];
  }
}

/**
 * A caller's clock, each reading checked: epoch milliseconds a Date can hold, else a UsageError naming the
 * option and the value (`now()` giving NaN or a string had surfaced as a RangeError from deep inside).
 * Taken down to the whole millisecond, as a Date holds it: a high-resolution clock's fractions
 * (`performance.timeOrigin + performance.now()`) had reached timer delays and queue file names.
 */
function checkedClock(clock: Clock): Clock {
  return {
    now: () => {
      const now: unknown = clock.now();
      if (isDateMs(now)) return Math.floor(now);
      throw new UsageError(
        `createParallelReporter: options.clock.now() must return epoch milliseconds, got ${quote(now)}`,
      );
    },
  };
}
