import * as nodeFs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import type { FileSystem } from "../../src/util/io.js";
import { makeFolder } from "../../src/util/make-folder.js";

describe("makeFolder (mkdir -p)", () => {
  it("makes the missing levels, leaves a folder that exists, and refuses a file in the way", () => {
    const volume = Volume.fromJSON({ "/a/file": "x" });
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    makeFolder(fs, "/a/b/c/d");
    makeFolder(fs, "/a/b/c/d");
    makeFolder(fs, "/");
    expect(volume.statSync("/a/b/c/d").isDirectory()).toBe(true);
    expect(() => makeFolder(fs, "/a/file")).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(() => makeFolder(fs, "/a/file/x")).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
  });

  it("says ENOENT of the folder asked for under a dangling symlink, as Node's own mkdir -p does", () => {
    const dir = nodeFs.mkdtempSync(join(tmpdir(), "pp-make-folder-"));
    try {
      nodeFs.symlinkSync(join(dir, "nowhere"), join(dir, "dangling"));
      const path = join(dir, "dangling", "sub");
      expect(() => makeFolder(nodeFs as unknown as FileSystem, path)).toThrow(
        expect.objectContaining({ code: "ENOENT", path }),
      );
    } finally {
      nodeFs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ends with ENOENT where the kernel cannot make a folder under one that exists (procfs)", () => {
    const fs = nodeFs as unknown as FileSystem;
    for (const path of ["/proc/self/pp-x", "/proc/self/pp-x/y/z"])
      expect(() => makeFolder(fs, path)).toThrow(
        expect.objectContaining({ code: "ENOENT", path: "/proc/self/pp-x" }),
      );
  });
});
