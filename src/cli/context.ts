import { resolve } from "node:path";
import type { ApiMethod } from "../api-arguments.js";
import { type GitHubFlags, givenOverrides } from "../config/github-target.js";
import { givenEpic } from "../config/options.js";
import { resolveApiUrl } from "../config/resolve.js";
import { hideFrom } from "../config/show-value.js";
import type { StatusView } from "../model/status-view.js";
import type { RunState } from "../model/types.js";
import type { FinalizeResult } from "../reporter/types.js";
import { ParallelProgressReporter } from "../reporter.js";
import { FileRunStore } from "../store/file-store.js";
import { chooseStore, LazyPgStore } from "../store/open-store.js";
import { nodeFileSystem } from "../util/node-fs.js";
import { type ActionsContext, actionsContext } from "./actions.js";
import { describeSync } from "./describe-sync.js";
import { expectEpic } from "./epic-guard.js";
import { importPgStore } from "./load-pg.js";
import { createOutput, type Output } from "./output.js";

/** What a database store adds to the commands (offline.ts): a bundle of its own, read only then. */
const offline = () => import("./offline.js");

/** Options every command takes (src/cli/common-options.ts); the GitHub settings' flags among them. */
export interface CommonOptions extends GitHubFlags {
  dir: string;
  quiet?: boolean;
  verbose?: boolean;
  /** A database shared by machines (else PARALLEL_PROGRESS_STORE); none: the file store in `dir`. */
  store?: string;
  /** The run's epic with a database store (else PARALLEL_PROGRESS_EPIC); init's --epic. */
  epic?: string;
}

export interface Context {
  out: Output;
  reporter: CliReporter;
  options: CommonOptions;
  /** Set inside GitHub Actions (GITHUB_ACTIONS=true). */
  actions: ActionsContext | null;
  /** The database store, when one is used (null: the file store in --dir). */
  store: LazyPgStore | null;
  /**
   * Starts the detached background writer (`__flush`) for this run, or a standby one (`__flush --standby`,
   * see ReporterOptions.standbyWriter): its pid, once started.
   */
  startBackgroundWriter: (how?: { standby: boolean }) => Promise<number | undefined>;
}

/**
 * The reporter for a CLI call: the CLI's output for warnings, a detached process as the background writer.
 * `anyEpic`: the call may meet a run of any epic in --dir (init starts its own, the background writer
 * writes whatever run is there); otherwise, with the file store, an epic given (--epic, else
 * PARALLEL_PROGRESS_EPIC) must be the run's (epic-guard.ts). `once`: see createOutput.
 */
export function createContext(options: CommonOptions, { anyEpic = false, once = true } = {}): Context {
  const actions = actionsContext(process.env);
  const out = createOutput({ quiet: options.quiet ?? false, verbose: options.verbose ?? false, once });
  const github = givenOverrides(options, "flag");
  const dir = resolve(options.dir);
  const chosen = chooseStore(options, process.env);
  // The background writer finds the same run: the store and epic travel in its environment (a URL may
  // hold a password: never on a command line, where other users could read it).
  // So does the GitHub API given by --api-url: the token goes only to the API a call is configured with.
  const writerEnv = () => ({
    ...process.env,
    ...(chosen ? { PARALLEL_PROGRESS_STORE: chosen.url, PARALLEL_PROGRESS_EPIC: chosen.epicId } : {}),
    ...(github.apiUrl === undefined ? {} : { GITHUB_API_URL: resolveApiUrl(github.apiUrl, process.env) }),
  });
  // One connection: a CLI call is one short process (connect, one transaction, done).
  const store = chosen ? new LazyPgStore({ ...chosen, maxConnections: 1 }, importPgStore) : null;
  const epicId = chosen || anyEpic ? null : givenEpic(options.epic, process.env);
  const fileStore = epicId
    ? expectEpic(
        new FileRunStore(nodeFileSystem(), dir),
        { epicId, source: options.epic?.trim() ? "--epic" : "PARALLEL_PROGRESS_EPIC" },
        dir,
      )
    : null;
  const reporter = new CliReporter(dir, {
    github,
    onWarning: (message) => out.warn(message),
    flusher: async () => ({ pid: await startBackgroundWriter() }),
    // A database is shared by machines: a writer on another one is not seen gone from here when killed.
    ...(store ? { standbyWriter: async () => (await offline()).startStandby(context, store) } : {}),
    ...(store ? { store } : fileStore ? { store: fileStore } : {}),
  });
  // No message of this call echoes a secret the reporter learns on its way (the password ~/.pgpass gave).
  hideFrom(() => reporter.secrets());
  if (options.verbose) reporter.on("sync", (result) => out.info(describeSync(result)));
  const startBackgroundWriter = (how = { standby: false }) =>
    startDetachedWriter(dir, out, writerEnv(), how.standby);
  const context: Context = { out, reporter, options, actions, store, startBackgroundWriter };
  return context;
}

/**
 * The reporter of a CLI call. Its option parsers (src/config/options.ts) have checked every value, and
 * commander gives only strings and the parsers' values: the library's zod check of the arguments would
 * add milliseconds to every call for nothing.
 */
export class CliReporter extends ParallelProgressReporter {
  protected override async checkArguments(): Promise<void> {}

  /** Its messages keep the CLI's words (`domains: …`, `files done (3) cannot exceed …`), no method named. */
  protected override label(_method: ApiMethod, parameter: string, cli = parameter): string {
    return cli;
  }

  /**
   * The run as this reporter last saw it, as status() shows it: for init --json when the database stopped
   * answering after the run was saved (init warned).
   */
  lastView(): Promise<StatusView> {
    return this.viewOf(this.executionState);
  }

  /** finalize with a `--summary-file` read in part: `unread` characters followed `summary` (readSummaryFile). */
  override finalizeWith(summary: string, unread: number): Promise<FinalizeResult> {
    return super.finalizeWith(summary, unread);
  }

  /** The secrets this reporter knows so far (the store's once reached: a password ~/.pgpass gave). */
  secrets(): string[] {
    return this.knownSecrets();
  }

  /** See learnCallTokens: a change kept on disk while the database does not answer is masked with them. */
  learnTokensForCall(): Promise<void> {
    return this.learnCallTokens();
  }

  /** Runs as a standby writer (`__flush --standby`): see ReporterOptions.standbyWriter. */
  override standBy(): Promise<void> {
    return super.standBy();
  }

  /** The run as this reporter last saw it, as it is posted (shown: a token only gh gives masked). */
  shownState(): Promise<RunState> {
    return this.shown(this.executionState);
  }
}

/**
 * Starts `parallel-progress __flush` detached from this process, so this call returns at once and the
 * coalesced latest state still reaches the issue when its write falls due. The token travels in the
 * inherited environment, never on the command line. (child_process is loaded only here: start-up time.)
 */
async function startDetachedWriter(
  dir: string,
  out: Output,
  env: NodeJS.ProcessEnv,
  standby: boolean,
): Promise<number | undefined> {
  const script = process.argv[1];
  if (!script) return undefined;
  const what = standby ? "standby writer" : "background writer";
  try {
    const { spawn } = await import("node:child_process");
    const args = [script, "__flush", "--dir", dir, ...(standby ? ["--standby"] : [])];
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: "ignore",
      env,
    });
    child.on("error", (error) => out.warn(`could not start the ${what}: ${error.message}`));
    child.unref();
    out.info(`${what} started (pid ${child.pid ?? "?"})`);
    return child.pid;
  } catch (error) {
    out.warn(`could not start the ${what}: ${(error as Error).message}`);
    return undefined;
  }
}
