import type { Lease } from "../model/types.js";
import type { FileSystem } from "../util/io.js";
import type { SyncDeps } from "./syncer-types.js";

/**
 * A background writer killed on this machine (a runner ends its job's processes) is seen to be gone at
 * once, not when its claim expires: a call that trusted its claim started no writer, and the changes it made
 * reached the issue only with a later command. Its claim carries where it runs (the kernel's boot and the
 * pid namespace, read from Linux's /proc) and its pid; a process in the same place asks the kernel whether
 * that pid is alive. Elsewhere (another machine, a container of its own, no /proc) the claim's expiry
 * decides, as for every lease.
 */

/** Where writers are marked from, and how a mark is judged. */
export interface LocalWriters {
  /** What this process adds to the claim it holds as the background writer (nothing without /proc). */
  mark(): Pick<Lease, "space" | "pid">;
  /** Whether the writer holding `lease` is known to be gone: marked in this place, its pid not alive. */
  gone(lease: Lease): boolean;
}

export function localWriters(fs: FileSystem, pid = process.pid): LocalWriters {
  let space: string | null | undefined;
  const here = () => {
    space ??= processSpace(fs);
    return space;
  };
  return {
    mark: () => {
      const where = here();
      return where === null ? {} : { space: where, pid };
    },
    gone: (lease) => {
      if (lease.space === undefined || lease.pid === undefined || lease.space !== here()) return false;
      try {
        process.kill(lease.pid, 0);
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === "ESRCH"; // EPERM: alive, another user's
      }
    },
  };
}

/**
 * Starts the background writer that `deps.owner` claimed, and marks the claim with the writer's pid (when
 * the start gives one): killed before it takes its claim (at its start), it is seen gone at once.
 */
export async function startClaimedWriter(
  deps: Pick<SyncDeps, "store" | "owner" | "startBackgroundWriter" | "writers">,
): Promise<void> {
  const pid = await deps.startBackgroundWriter();
  const { space } = deps.writers?.mark() ?? {};
  if (typeof pid !== "number" || space === undefined) return;
  await deps.store.transact((current) => {
    const flusher = current?.sync.flusher;
    // Taken meanwhile by the writer itself (marked by it), or by another: left as it is.
    if (!current || !flusher || flusher.owner !== deps.owner || flusher.pid !== undefined) {
      return { result: undefined };
    }
    return {
      next: { ...current, sync: { ...current.sync, flusher: { ...flusher, space, pid } } },
      result: undefined,
    };
  });
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
