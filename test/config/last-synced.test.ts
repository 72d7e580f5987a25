import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { formatLastSynced, setLastSynced, writeLastSynced } from "../../src/config/last-synced.js";
import { parseTaskFile } from "../../src/config/task-file.js";
import type { FileSystem } from "../../src/util/io.js";

const TS = "2025-10-19T16:30:00";
const EPOCH = Date.UTC(2025, 9, 19, 16, 30, 0, 789);

/** setLastSynced must leave every line but `changed` as it was, and parse to the same settings. */
function expectOnlyLineChanged(
  before: string,
  after: string | null,
  changed: { index: number; line: string },
) {
  expect(after).not.toBeNull();
  const beforeLines = before.split("\n");
  const afterLines = after!.split("\n");
  expect(afterLines[changed.index]).toBe(changed.line);
  expect(afterLines.length).toBe(beforeLines.length);
  expect(afterLines.filter((_, i) => i !== changed.index)).toEqual(
    beforeLines.filter((_, i) => i !== changed.index),
  );
  expectSameSettings(before, after!);
}

function expectLineInserted(before: string, after: string | null, inserted: { index: number; line: string }) {
  expect(after).not.toBeNull();
  const afterLines = after!.split("\n");
  expect(afterLines[inserted.index]).toBe(inserted.line);
  expect(afterLines.filter((_, i) => i !== inserted.index).join("\n")).toBe(before);
  expectSameSettings(before, after!);
}

function expectSameSettings(before: string, after: string) {
  const settings = parseTaskFile(after, "task.md");
  expect({ ...settings, lastSynced: null }).toEqual({
    ...parseTaskFile(before, "task.md"),
    lastSynced: null,
  });
  expect(settings.lastSynced).toBe(TS);
}

describe("formatLastSynced", () => {
  it("writes UTC without milliseconds or zone", () => {
    expect(formatLastSynced(EPOCH)).toBe(TS);
  });
});

describe("setLastSynced", () => {
  it("replaces the value of the contract's example, keeping its comment", () => {
    const text = `---
github:
  issue_number: 123        # positive integer; absent: local tracking only
  sync_enabled: true       # default true; false: local tracking only, no GitHub traffic
  repo: owner/name         # optional
  last_synced: 2024-01-01T00:00:00   # written by the tool after a successful finalize
---
# Epic
`;
    expectOnlyLineChanged(text, setLastSynced(text, TS), {
      index: 5,
      line: `  last_synced: ${TS}   # written by the tool after a successful finalize`,
    });
  });

  it("keeps comments, unknown keys, blank lines, quoting and the body byte for byte", () => {
    const text = `---
# leading comment
title: "Quoted 'title'"   # trailing
tags: [a, b]
github:
    # comment inside the block
    issue_number: 42
    custom_key: 'single'

    last_synced: "2020-01-01T00:00:00" # kept

    nested:
        deep: yes
owner: me
---

---js is not a delimiter here
body with github: keys and last_synced: 1
`;
    expectOnlyLineChanged(text, setLastSynced(text, TS), {
      index: 9,
      line: `    last_synced: "${TS}" # kept`,
    });
  });

  it("inserts last_synced as the last child with the block's indentation", () => {
    const text =
      "---\ntitle: x\ngithub:\n   issue_number: 1   # c\n   repo: a/b\n\n# a comment\nafter: 1\n---\nbody\n";
    expectLineInserted(text, setLastSynced(text, TS), { index: 5, line: `   last_synced: ${TS}` });
  });

  it("inserts after a nested mapping and after a last indented comment", () => {
    const text = "---\ngithub:\n  issue_number: 1\n  extra:\n    a: 1\n  # trailing note\n---\n";
    expectLineInserted(text, setLastSynced(text, TS), { index: 6, line: `  last_synced: ${TS}` });
  });

  it("inserts under an empty github key and at the end of the frontmatter", () => {
    const empty = "---\ngithub:\n---\nbody";
    expect(setLastSynced(empty, TS)).toBe(`---\ngithub:\n  last_synced: ${TS}\n---\nbody`);
    const last = "---\ngithub:   # settings\n  issue_number: 3\n---\n";
    expectLineInserted(last, setLastSynced(last, TS), { index: 3, line: `  last_synced: ${TS}` });
  });

  it("keeps CRLF line endings", () => {
    const text =
      "---\r\ngithub:\r\n  issue_number: 9\r\n  last_synced: 2020-01-01T00:00:00\r\n---\r\nbody\r\n";
    const replaced = setLastSynced(text, TS);
    expect(replaced).toBe(`---\r\ngithub:\r\n  issue_number: 9\r\n  last_synced: ${TS}\r\n---\r\nbody\r\n`);
    expectSameSettings(text, replaced!);
    const inserted = setLastSynced("---\r\ngithub:\r\n  issue_number: 9\r\n---\r\nbody\r\n", TS);
    expect(inserted).toBe(`---\r\ngithub:\r\n  issue_number: 9\r\n  last_synced: ${TS}\r\n---\r\nbody\r\n`);
    expect(inserted!.replace(/\r\n/g, "")).not.toContain("\n");
  });

  it("keeps a BOM", () => {
    const text = "\uFEFF---\ngithub:\n  issue_number: 1\n---\n";
    expect(setLastSynced(text, TS)).toBe(
      `\uFEFF---\ngithub:\n  issue_number: 1\n  last_synced: ${TS}\n---\n`,
    );
  });

  it("fills an empty value and keeps its comment", () => {
    const text = "---\ngithub:\n  last_synced:   # set by the tool\n  issue_number: 1\n---\n";
    expectOnlyLineChanged(text, setLastSynced(text, TS), {
      index: 2,
      line: `  last_synced:   ${TS} # set by the tool`,
    });
  });

  it("only touches a direct child of the top-level github block", () => {
    const text =
      "---\nother:\n  last_synced: 1\ngithub:\n  nested:\n    last_synced: 2\n  issue_number: 1\n---\n";
    expectLineInserted(text, setLastSynced(text, TS), { index: 7, line: `  last_synced: ${TS}` });
  });

  it("gives up where an edit would not be safe", () => {
    const cannot = [
      "no frontmatter\n",
      "---\ntitle: x\n---\n", // no github
      "---\ngithub: {issue_number: 1}\n---\n", // flow style
      "---\ngithub: {issue_number: 1, last_synced: 2020-01-01}\n---\n",
      "---\ngithub: &anchor\n  issue_number: 1\n---\n",
      "---\ngithub:\n- a\n---\n", // a sequence
      "---\ngithub:\n  - a\n---\n",
      "---\ngithub:\n  issue_number: 1\n", // never closed
      "---\ngithub:\n\tissue_number: 1\n---\n", // tab indentation
      "---\ngithub:\n  last_synced: |\n    2020\n---\n", // block scalar
      "---\ngithub:\n  last_synced:\n    nested: 1\n---\n",
      '---\ngithub:\n  last_synced: "2020-01-01\n    more"\n---\n', // multi-line quoted
      '---json\n{"github": {}}\n---\n',
      "---\ngithub:\n  a: 1\ngithub:\n  b: 2\n---\n", // duplicate key
    ];
    for (const text of cannot) expect(setLastSynced(text, TS), JSON.stringify(text)).toBeNull();
  });

  it("never changes the body, even when it looks like frontmatter", () => {
    const text = "---\ngithub:\n  issue_number: 1\n---\ngithub:\n  last_synced: body\n";
    expect(setLastSynced(text, TS)).toBe(
      `---\ngithub:\n  issue_number: 1\n  last_synced: ${TS}\n---\ngithub:\n  last_synced: body\n`,
    );
  });
});

describe("writeLastSynced", () => {
  const make = (files: Record<string, string>) => {
    const volume = Volume.fromJSON(files);
    return { volume, fs: createFsFromVolume(volume) as unknown as FileSystem };
  };

  it("edits task.md in place, atomically, keeping its mode and leaving no temporary file", async () => {
    const { fs } = make({ "/epic/task.md": "---\ngithub:\n  issue_number: 1 # keep\n---\nbody\n" });
    await fs.promises.chmod("/epic/task.md", 0o640);
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("written");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(
      `---\ngithub:\n  issue_number: 1 # keep\n  last_synced: ${TS}\n---\nbody\n`,
    );
    expect(Number((await fs.promises.stat("/epic/task.md")).mode) & 0o777).toBe(0o640);
    expect(await fs.promises.readdir("/epic")).toEqual(["task.md"]);
    // a second write replaces the value in place
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH + 60_000)).resolves.toBe("written");
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH + 60_000)).resolves.toBe("unchanged");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toContain(
      "  last_synced: 2025-10-19T16:31:00\n",
    );
  });

  it("gives the new file task.md's owner and group; says not-owner and leaves task.md as it is where it may not", async () => {
    const { fs } = make({ "/epic/task.md": "---\ngithub:\n  issue_number: 1\n---\n" });
    await fs.promises.chown("/epic/task.md", 65534, 65533);
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("written");
    const written = await fs.promises.stat("/epic/task.md");
    expect([written.uid, written.gid]).toEqual([65534, 65533]);
    // Not root: only root gives a file to another user (and an owner only to a group it is in).
    const before = await fs.promises.readFile("/epic/task.md", "utf8");
    fs.promises.chown = async () => {
      throw Object.assign(new Error("EPERM: operation not permitted, chown"), { code: "EPERM" });
    };
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH + 60_000)).resolves.toBe("not-owner");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(before);
    expect(await fs.promises.readdir("/epic")).toEqual(["task.md"]);
  });

  it("writes through a symlink to its target", async () => {
    const { fs, volume } = make({
      "/real/task.md": "---\ngithub:\n  issue_number: 1\n---\n",
      "/epic/.keep": "",
    });
    volume.symlinkSync("/real/task.md", "/epic/task.md");
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("written");
    expect((await fs.promises.lstat("/epic/task.md")).isSymbolicLink()).toBe(true);
    expect(await fs.promises.readFile("/real/task.md", "utf8")).toContain(`last_synced: ${TS}`);
  });

  it("says cannot-edit and leaves the file alone when it cannot be edited safely", async () => {
    const flow = "---\ngithub: {issue_number: 1}\n---\n";
    const { fs } = make({ "/epic/task.md": flow });
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("cannot-edit");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(flow);
    await expect(writeLastSynced(fs, "/none/task.md", EPOCH)).resolves.toBe("no-file");
  });

  it("says not-utf8 and leaves a file in another encoding byte for byte; a UTF-8 BOM is kept", async () => {
    const latin1 = Buffer.from(
      "---\ngithub:\n  issue_number: 1\n  note: caf\xe9\n---\nR\xe9sum\xe9\n",
      "latin1",
    );
    const { fs } = make({ "/epic/.keep": "" });
    await fs.promises.writeFile("/epic/task.md", latin1);
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("not-utf8");
    expect(Buffer.compare(await fs.promises.readFile("/epic/task.md"), latin1)).toBe(0);

    await fs.promises.writeFile("/epic/task.md", "\uFEFF---\ngithub:\n  issue_number: 1\n---\ncafé\n");
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("written");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(
      `\uFEFF---\ngithub:\n  issue_number: 1\n  last_synced: ${TS}\n---\ncafé\n`,
    );
  });

  it("says cannot-edit when the edit would change what the file means", async () => {
    // A kept block scalar (`|+`) owns the blank line after it: inserting before that line changes it.
    const tricky = "---\ngithub:\n  issue_number: 1\n  note: |+\n    text\n\nafter: 1\n---\n";
    expect(setLastSynced(tricky, TS)).not.toBeNull();
    const { fs } = make({ "/epic/task.md": tricky });
    await expect(writeLastSynced(fs, "/epic/task.md", EPOCH)).resolves.toBe("cannot-edit");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(tricky);
  });

  /**
   * Another process (a finalize and a retry finishing the run at once) renames its own edit into place
   * between this one's read and its rename: `after` runs when this writer has written its temporary file.
   */
  function racing(text: string, after: (fs: FileSystem) => Promise<void>, times = 1) {
    const { fs } = make({ "/epic/task.md": text });
    const writeFile = fs.promises.writeFile.bind(fs.promises);
    let left = times;
    const raced = {
      ...fs,
      promises: {
        ...fs.promises,
        writeFile: async (...args: Parameters<typeof writeFile>) => {
          await writeFile(...args);
          if (String(args[0]).endsWith(".tmp") && left-- > 0) await after(fs);
        },
      },
    } as unknown as FileSystem;
    return { fs, raced };
  }
  const plain = "---\ngithub:\n  issue_number: 1\n---\nbody\n";

  it("a lost race with another writer of the same value is no failure: the file holds it", async () => {
    const { fs, raced } = racing(plain, async (real) => {
      await real.promises.writeFile("/epic/task.md", plain.replace("1\n", `1\n  last_synced: ${TS}\n`));
    });
    await expect(writeLastSynced(raced, "/epic/task.md", EPOCH)).resolves.toBe("unchanged");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toContain(`  last_synced: ${TS}\n`);
    expect(await fs.promises.readdir("/epic")).toEqual(["task.md"]);
  });

  it("after a lost race with an older value, writes its own on the second try", async () => {
    const { fs, raced } = racing(plain, async (real) => {
      await real.promises.writeFile(
        "/epic/task.md",
        plain.replace("1\n", "1\n  last_synced: 2000-01-01T00:00:00\n"),
      );
    });
    await expect(writeLastSynced(raced, "/epic/task.md", EPOCH)).resolves.toBe("written");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(
      `---\ngithub:\n  issue_number: 1\n  last_synced: ${TS}\n---\nbody\n`,
    );
  });

  it("a file that keeps changing is left to its writer, said as such (not as a format problem)", async () => {
    let n = 0;
    const { fs, raced } = racing(
      plain,
      async (real) => {
        n++;
        await real.promises.writeFile("/epic/task.md", `${plain}edit ${n}${"!".repeat(n)}\n`);
      },
      2,
    );
    await expect(writeLastSynced(raced, "/epic/task.md", EPOCH)).resolves.toBe("changed");
    expect(await fs.promises.readFile("/epic/task.md", "utf8")).toBe(`${plain}edit 2!!\n`);
  });
});
