import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { PendingChanges } from "../../src/queue/pending-changes.js";
import type { FileSystem } from "../../src/util/io.js";

describe("PendingChanges' waiter claim", () => {
  it("of two processes that find the same dead waiter, exactly one takes over (the lock's takeover guard)", () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const dir = "/epic/.parallel-progress";
    const first = new PendingChanges(fs, dir);
    first.add({ id: "a", epicId: "E", madeAt: 1, change: { kind: "log", agent: "api", message: "m" } });
    expect(first.claimWaiter("t", 60_000)).toBe(true);
    // Its waiter died: the claim has not been touched for two minutes.
    const claim = fs
      .readdirSync(first.dir)
      .map(String)
      .find((entry) => entry.startsWith(".waiter"))!;
    const past = new Date(Date.now() - 120_000);
    fs.utimesSync(`${first.dir}/${claim}`, past, past);

    // B removes the dead claim; at that very moment A, which also found it dead, tries to take over.
    const a = new PendingChanges(fs, dir);
    let aTook: boolean | null = null;
    let fired = false;
    const racing =
      (remove: (path: string, ...rest: unknown[]) => unknown) =>
      (path: string, ...rest: unknown[]) => {
        if (!fired && String(path) === `${first.dir}/${claim}`) {
          fired = true;
          aTook = a.claimWaiter("t", 60_000);
        }
        return remove(path, ...rest);
      };
    const hooked = new Proxy(fs, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key === "rmSync" || key === "rmdirSync") return racing(value.bind(target));
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const bTook = new PendingChanges(hooked, dir).claimWaiter("t", 60_000);
    expect(fired).toBe(true);
    expect([aTook, bTook].filter((took) => took === true)).toHaveLength(1);
  });
});
