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
});
