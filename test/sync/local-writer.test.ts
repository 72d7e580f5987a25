import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { localWriters } from "../../src/sync/local-writer.js";
import type { FileSystem } from "../../src/util/io.js";

/** A /proc of one machine: its boot id, this process's pid namespace, and processes' stat lines. */
function proc(stats: Record<number, string>) {
  const volume = Volume.fromJSON({
    "/proc/sys/kernel/random/boot_id": "6d1f0c1e-boot\n",
    ...Object.fromEntries(Object.entries(stats).map(([pid, line]) => [`/proc/${pid}/stat`, line])),
  });
  volume.mkdirSync("/proc/self/ns", { recursive: true });
  volume.symlinkSync("pid:[4026531836]", "/proc/self/ns/pid");
  return createFsFromVolume(volume) as unknown as FileSystem;
}

/** A stat line: the name in parentheses may hold spaces and parentheses; state, then start time at field 22. */
const stat = (pid: number, state: string, started: number) =>
  `${pid} (node (a) b) ${state} 1 1 1 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 ${started} 1000 10\n`;

describe("a background writer of this machine seen gone", () => {
  const here = "6d1f0c1e-boot/pid:[4026531836]";

  it("marks a claim with where it runs, its pid and its start time", () => {
    expect(localWriters(proc({ 42: stat(42, "S", 777) }), 42).mark()).toEqual({
      space: here,
      pid: 42,
      started: 777,
    });
    expect(localWriters(proc({ 7: stat(7, "S", 5) }), 42).mark(7)).toEqual({
      space: here,
      pid: 7,
      started: 5,
    });
  });

  it("is gone when its process is not there, is a zombie (killed, not reaped), or another took its pid", () => {
    const writers = localWriters(
      proc({ 10: stat(10, "S", 100), 11: stat(11, "Z", 100), 12: stat(12, "S", 999) }),
    );
    const claim = (pid: number) => ({ owner: "w", expiresAt: 0, space: here, pid, started: 100 });
    expect(writers.gone(claim(10))).toBe(false);
    expect(writers.gone(claim(11))).toBe(true);
    expect(writers.gone(claim(12))).toBe(true);
    expect(writers.gone(claim(13))).toBe(true);
    // Marked elsewhere (another machine, another pid namespace), or not marked: its expiry decides.
    expect(writers.gone({ ...claim(13), space: "other-boot/pid:[1]" })).toBe(false);
    expect(writers.gone({ owner: "w", expiresAt: 0 })).toBe(false);
  });

  it("marks nothing and sees nothing gone without /proc", () => {
    const none = localWriters(createFsFromVolume(new Volume()) as unknown as FileSystem, 42);
    expect(none.mark()).toEqual({});
    expect(none.gone({ owner: "w", expiresAt: 0, space: here, pid: 13, started: 1 })).toBe(false);
  });
});
