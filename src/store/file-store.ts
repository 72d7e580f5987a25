import { join } from "node:path";
import { UsageError } from "../errors.js";
import type { RunState } from "../model/types.js";
import { ignoreInGit } from "../util/git-ignore.js";
import type { FileSystem } from "../util/io.js";
import { sweepTemporaryFiles, writeFileAtomicSync } from "./atomic-write.js";
import { withLock } from "./lock.js";
import { stateToText, trustedState } from "./state-text.js";
import type { RunStore, Transition } from "./types.js";

/** The folder inside the epic directory that holds the run state and its lock. */
export const STATE_DIR = ".parallel-progress";

export function statePaths(epicDir: string) {
  const dir = join(epicDir, STATE_DIR);
  return { dir, state: join(dir, "state.json"), lock: join(dir, "state.lock") };
}

/**
 * The run state as one JSON file in `<epic>/.parallel-progress/state.json`, changed only under the
 * cross-process lock and replaced atomically, so concurrent processes lose no change and a process
 * killed at any instant leaves the previous or the next state, never a torn one.
 */
export class FileRunStore implements RunStore {
  readonly paths: ReturnType<typeof statePaths>;

  constructor(
    private readonly fs: FileSystem,
    epicDir: string,
    private readonly lockStaleMs = 3000,
  ) {
    this.paths = statePaths(epicDir);
  }

  async read(): Promise<RunState | null> {
    return this.readState();
  }

  /**
   * Called when a run starts: removes temporary files that writers killed mid-write left behind, and keeps
   * an existing state folder out of git (a folder this store makes gets its `.gitignore` as it is made).
   */
  prepare(now: number): void {
    sweepTemporaryFiles(this.fs, this.paths.state, now);
    ignoreInGit(this.fs, this.paths.dir);
  }

  /**
   * For `init --force`: a state file that cannot be read (bad JSON, or not what the schema says) is moved
   * aside as `state.json.corrupt`, kept for a look, so a new run can start. Returns why it was, or null.
   */
  async setAsideUnreadable(): Promise<string | null> {
    try {
      await this.readState();
      return null;
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      this.fs.renameSync(this.paths.state, `${this.paths.state}.corrupt`);
      return error.message;
    }
  }

  /**
   * Small files, read and written synchronously: cheaper than thread-pool round trips at every start.
   * A file this store wrote as it is is trusted; any other is checked against the schema (state-text.ts).
   */
  private async readState(): Promise<RunState | null> {
    let text: string;
    try {
      text = this.fs.readFileSync(this.paths.state, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    return trustedState(text) ?? (await parseState(text, this.paths.state));
  }

  async transact<T>(change: (current: RunState | null) => Transition<T>): Promise<T> {
    const locked = () =>
      withLock(this.paths.lock, { fs: this.fs, staleMs: this.lockStaleMs }, async () => {
        const current = await this.readState();
        const { next, result } = change(current);
        if (next !== undefined) writeFileAtomicSync(this.fs, this.paths.state, stateToText(next));
        return result;
      });
    try {
      return await locked();
    } catch (error) {
      // The state folder is made when it is found missing, not checked at every change (two system calls
      // fewer per call); and only for a change that creates a state (init), so that a command refused
      // for want of a run leaves no folder behind. `change` is pure: asking it first is safe.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || this.fs.existsSync(this.paths.dir))
        throw error;
      const withoutState = change(null); // no folder, so no state
      if (withoutState.next === undefined) return withoutState.result;
      this.fs.mkdirSync(this.paths.dir, { recursive: true });
      ignoreInGit(this.fs, this.paths.dir);
      return locked();
    }
  }
}

/** A state file not written by this store as it is: parsed, then checked against the schema (one-line UsageError). */
async function parseState(text: string, path: string): Promise<RunState> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${path} is not valid JSON (edited by hand?): fix it, or start a new run with init --force (it keeps the file as state.json.corrupt)`,
      {
        cause: error,
      },
    );
  }
  if (typeof value !== "object" || value === null || (value as { version?: unknown }).version !== 1) {
    throw new UsageError(
      `${path} is not a parallel-progress state of version 1: start a new run with init --force (it keeps the file as state.json.corrupt)`,
    );
  }
  // A checksum that no longer holds (the file was edited) is not part of the state.
  delete (value as { checksum?: unknown }).checksum;
  const { validateRunState } = await import("./state-schema.js");
  return validateRunState(value, path);
}
