import type { Lease } from "../model/types.js";
import type { FileSystem } from "../util/io.js";
import type { SyncDeps } from "./syncer-types.js";

/**
 * A background writer killed on this machine (a runner ends its job's processes) is seen to be gone at
 * once, not when its claim expires: a call that trusted its claim started no writer, and the changes it made
 * reached the issue only with a later command. Its claim carries where it runs (the kernel's boot and the
 * pid namespace, read from Linux's /proc), its pid and its start time; a process in the same place reads
 * that pid's /proc entry. Elsewhere (another machine, a container of its own, no /proc) the claim's expiry
 * decides, as for every lease.
 */

/** Where writers are marked from, and how a mark is judged. */
export interface LocalWriters {
  /** What the claim of process `pid` (default: this one) carries to be judged here; nothing without /proc. */
  mark(pid?: number): Pick<Lease, "space" | "pid" | "started">;
  /**
   * Whether the writer holding `lease` is known to be gone: marked in this place, and its process is
   * not there any more, is a zombie (killed, not yet reaped: in a container whose first process reaps
   * nothing, for ever), or is another process that took its pid since (another start time).
   */
  gone(lease: Lease): boolean;
  /** Whether `lease` is marked in this place: its writer, if killed, is seen gone here (`gone`). */
  marked(lease: Lease): boolean;
}

export function localWriters(fs: FileSystem, own: number = process.pid): LocalWriters {
  let space: string | null | undefined;
  const here = () => {
    space ??= processSpace(fs);
    return space;
  };
  const markedHere = (lease: Lease) =>
    lease.space !== undefined && lease.pid !== undefined && lease.space === here();
  return {
    marked: markedHere,
    mark: (pid = own) => {
      const where = here();
      const found = where === null ? null : processState(fs, pid);
      return where === null || found === null || found === "none"
        ? {}
        : { space: where, pid, started: found.started };
    },
    gone: (lease) => {
      if (!markedHere(lease) || lease.pid === undefined) return false;
      const found = processState(fs, lease.pid);
      if (found === "none") return true;
      if (found === null) return false; // not readable here: its expiry decides
      return (
        found.state === "Z" ||
        found.state === "X" ||
        (lease.started !== undefined && found.started !== lease.started)
      );
    },
  };
}

/**
 * Process `pid`'s state letter and start time, from `/proc/<pid>/stat`; "none": there is no such process;
 * null: not readable. The name in its parentheses may hold anything: the fields are read after the last `)`.
 */
function processState(fs: FileSystem, pid: number): { state: string; started: number } | "none" | null {
  let text: string;
  try {
    text = String(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "none" : null;
  }
  // After the name: state (field 3), then fields 4 to 22; the start time is field 22.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const started = Number(fields[19]);
  return fields[0] && Number.isFinite(started) ? { state: fields[0], started } : null;
}

/**
 * Starts the background writer that `deps.owner` claimed, and marks the claim with the writer's pid (when
 * the start gives one): killed before it takes its claim (at its start), it is seen gone at once.
 */
export async function startClaimedWriter(
  deps: Pick<SyncDeps, "store" | "owner" | "startBackgroundWriter" | "writers">,
): Promise<void> {
  const pid = await deps.startBackgroundWriter();
  if (typeof pid !== "number" || !deps.writers) return;
  const mark = deps.writers.mark(pid);
  if (mark.space === undefined) return;
  await deps.store.transact((current) => {
    const flusher = current?.sync.flusher;
    // Taken meanwhile by the writer itself (marked by it), or by another: left as it is.
    if (!current || !flusher || flusher.owner !== deps.owner || flusher.pid !== undefined) {
      return { result: undefined };
    }
    return {
      next: { ...current, sync: { ...current.sync, flusher: { ...flusher, ...mark } } },
      result: undefined,
    };
  });
}

/**
 * Starts what a call's claim asks for (claim.ts: WriterClaim): the background writer it claimed, or a
 * standby beside another machine's live one.
 */
export async function startWriterOf(
  deps: Pick<SyncDeps, "store" | "owner" | "startBackgroundWriter" | "startStandbyWriter" | "writers">,
  claim: { claimed: boolean; standby: boolean },
): Promise<void> {
  if (claim.claimed) await startClaimedWriter(deps);
  else if (claim.standby) await deps.startStandbyWriter?.();
}

/** The kernel's boot id and this process's pid namespace: where a pid means this process; null without /proc. */
function processSpace(fs: FileSystem): string | null {
  try {
    const boot = String(fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8")).trim();
    const namespace = String(fs.readlinkSync("/proc/self/ns/pid"));
    return boot && namespace ? `${boot}/${namespace}` : null;
  } catch {
    return null;
  }
}
