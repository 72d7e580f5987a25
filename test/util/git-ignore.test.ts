import * as nodeFs from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { ignoreInGit } from "../../src/util/git-ignore.js";
import type { FileSystem } from "../../src/util/io.js";

describe("the .gitignore of the run's folders", () => {
  it("is written whole: one a full disk left empty is written again; one with content is left as it is", () => {
    const volume = Volume.fromJSON({ "/a/.gitignore": "", "/b/.gitignore": "state.json\n", "/c/.keep": "" });
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    for (const dir of ["/a", "/b", "/c"]) ignoreInGit(fs, dir);
    expect(volume.readFileSync("/a/.gitignore", "utf8")).toMatch(/\n\*\n$/);
    expect(volume.readFileSync("/b/.gitignore", "utf8")).toBe("state.json\n");
    expect(volume.readFileSync("/c/.gitignore", "utf8")).toMatch(/\n\*\n$/);
    expect(Object.keys(volume.toJSON()).filter((path) => path.endsWith(".tmp"))).toEqual([]);
  });

  it("is readable by all (git run by another user reads it), writable by the owner alone", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-gitignore-"));
    try {
      await writeFile(join(dir, "plain"), "x", { mode: 0o644 }); // 0644 less the umask (000: 0644, not 0666)
      ignoreInGit(nodeFs as unknown as FileSystem, dir);
      const mode = (path: string) => stat(join(dir, path)).then((found) => found.mode & 0o777);
      expect((await mode(".gitignore")).toString(8)).toBe((await mode("plain")).toString(8));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
