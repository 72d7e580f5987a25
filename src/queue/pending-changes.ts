import { join } from "node:path";
import type { AgentMetrics, UpdateStatus } from "../model/types.js";
import { writeFileAtomicSync } from "../store/atomic-write.js";
import { touch, tryLock } from "../store/lock.js";
import { ignoreInGit } from "../util/git-ignore.js";
import type { FileSystem } from "../util/io.js";
import { makeFolder } from "../util/make-folder.js";
import { randomHex } from "../util/random.js";

/** An agent's change that could not reach the shared store, as data (so it can be applied later). */
export type AgentChange =
  | {
      kind: "update";
      agent: string;
      status: UpdateStatus;
      filesCompleted?: number | undefined;
      filesTotal?: number | undefined;
      metrics?: AgentMetrics;
    }
  | { kind: "complete"; agent: string; summary: string | null; metrics?: AgentMetrics }
  | { kind: "fail"; agent: string; error: string; metrics?: AgentMetrics }
  | { kind: "cancel"; agent: string; reason: string | null; metrics?: AgentMetrics }
  | { kind: "log"; agent: string; message: string };

/** What may be kept while the store does not answer: an agent's change, or the run's finalize. */
/** `unread`: characters of a `--summary-file` that followed `summary` (readSummaryFile); none when left out. */
export type KeptChange = AgentChange | { kind: "finalize"; summary: string; unread?: number };

/** A change kept on this machine's disk: its correlation id makes applying it later happen once. */
export interface PendingChange {
  id: string;
  /** The run's epic in the shared store. */
  epicId: string;
  /**
   * The name of the database it was made for: applied only to its epic's run in a database of that name
   * (its host may change: a failover, another address of the same server). Absent in the files of earlier
   * releases (applied wherever the epic is).
   */
  database?: string;
  /**
   * When it was made (epoch ms, this machine's clock): compared with the database's clock when it is
   * applied (the run that replaced its run; the end of a run finalized meanwhile).
   */
  madeAt: number;
  /**
   * When it first waited for its agent's children's changes (this machine's clock; see replayPending),
   * if it did: it waits for them CHILDREN_WAIT_MS from then.
   */
  waitingSince?: number;
  change: KeptChange;
}

const PATTERN = /^change_\d{15}_\d{4}_[0-9a-f]{8}\.json$/;
/** A change set aside (setAside): its name, then `.rejected`. */
const REJECTED = new RegExp(`${PATTERN.source.slice(0, -1)}\\.rejected$`);

/**
 * Changes made while the shared store (the database) did not answer, one JSON file each in
 * `<epic>/.parallel-progress/pending/`, named so that sorting the names sorts them oldest first. Written to
 * a temporary name and renamed, so a reader never sees half a file; removed once applied.
 */
export class PendingChanges {
  readonly dir: string;
  /** What this object set aside (`<name>.rejected`), in this process. */
  readonly movedAside = new Set<string>();
  private counter = 0;

  constructor(
    private readonly fs: FileSystem,
    stateDir: string,
  ) {
    this.dir = join(stateDir, "pending");
  }

  add(pending: PendingChange): string {
    makeFolder(this.fs, this.dir);
    ignoreInGit(this.fs, join(this.dir, ".."));
    const stamp = String(pending.madeAt).padStart(15, "0");
    const name = `change_${stamp}_${String(this.counter++ % 10_000).padStart(4, "0")}_${randomHex(8)}.json`;
    writeFileAtomicSync(this.fs, join(this.dir, name), `${JSON.stringify(pending)}\n`);
    return name;
  }

  /** File names, oldest first. */
  names(): string[] {
    return this.files().filter((name) => PATTERN.test(name));
  }

  /**
   * The change in `name`, checked by `check` (pending-schema.ts: a schema, read only when there are files);
   * null when another process already applied and removed it. A file that is not a change (not JSON, or
   * not of a change's shape) is set aside, with the reason `check` gives, as the offline queue does, so it
   * blocks no later call: then where it went (`to`) and why (`damaged`).
   */
  read(
    name: string,
    check: (text: string) => PendingChange | string,
  ): PendingChange | { damaged: string; to: string } | null {
    let text: string;
    try {
      text = this.fs.readFileSync(join(this.dir, name), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    const checked = check(text);
    if (typeof checked !== "string") return checked;
    return { damaged: checked, to: this.setAside(name, checked) };
  }

  /** Records that the change in `name` waits (see PendingChange.waitingSince), in place. */
  markWaiting(name: string, item: PendingChange, since: number): void {
    writeFileAtomicSync(
      this.fs,
      join(this.dir, name),
      `${JSON.stringify({ ...item, waitingSince: since })}\n`,
    );
  }

  remove(name: string): void {
    this.fs.rmSync(join(this.dir, name), { force: true });
  }

  /**
   * Makes this process the one that waits for the database to apply the kept changes of `target` (one per
   * machine, directory and target: a database and epic, as a short hex key): the store's mkdir lock
   * (src/store/lock.ts, with its takeover guard), false while another waiter holds it, i.e. touched it
   * within `staleMs`; false too when nothing was ever kept here.
   */
  claimWaiter(target: string, staleMs: number): boolean {
    try {
      return tryLock(this.fs, this.waiterLock(target), staleMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }

  /** When the waiter of `target` last marked its claim (epoch ms), or null when none holds it. */
  waiterMarkedAt(target: string): number | null {
    try {
      return this.fs.statSync(this.waiterLock(target)).mtimeMs;
    } catch {
      return null;
    }
  }

  /** The waiter is alive (its claim is fresh). */
  touchWaiter(target: string): void {
    touch(this.fs, this.waiterLock(target));
  }

  releaseWaiter(target: string): void {
    this.fs.rmSync(this.waiterLock(target), { recursive: true, force: true });
  }

  private waiterLock(target: string): string {
    return join(this.dir, `.waiter-${target}.lock`);
  }

  /**
   * A change the store refused (its agent or run is gone), or a damaged one: kept, out of the way, as
   * `<name>.rejected`, with `reason` added to it (`setAside`); a file that is not a JSON object (cut short,
   * edited) is kept whole beside the reason, as `{ setAside, text }`. Recorded in `movedAside`.
   */
  setAside(name: string, reason: string): string {
    const to = `${name}.rejected`;
    const from = join(this.dir, name);
    this.movedAside.add(to);
    try {
      const text = this.fs.readFileSync(from, "utf8");
      const item = jsonObject(text);
      const aside = item === null ? { setAside: reason, text } : { ...item, setAside: reason };
      writeFileAtomicSync(this.fs, join(this.dir, to), `${JSON.stringify(aside)}\n`);
      this.fs.rmSync(from, { force: true });
    } catch {
      // Another process moved it first.
    }
    return to;
  }

  /** The changes set aside (`<name>.rejected`), oldest first: they stay until someone deletes them. */
  setAsideNames(): string[] {
    return this.files().filter((name) => REJECTED.test(name));
  }

  /** Every file in the folder, sorted (none when it does not exist). */
  private files(): string[] {
    try {
      return this.fs.readdirSync(this.dir).map(String).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  }
}

/** The JSON object `text` holds, or null (not JSON, or another JSON value). */
function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
