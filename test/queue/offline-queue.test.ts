import { createFsFromVolume, Volume } from "memfs";
import { describe, expect, it } from "vitest";
import { queueFileName } from "../../src/queue/file-name.js";
import { validateItem } from "../../src/queue/item-schema.js";
import { OfflineQueue } from "../../src/queue/offline-queue.js";
import type { QueueItem } from "../../src/queue/types.js";
import type { FileSystem } from "../../src/util/io.js";

const item = (seq: number): QueueItem => ({
  issue_number: 123,
  comment: `body ${seq}`,
  timestamp: "2025-10-19T16:30:45.123Z",
  repo: "acme/widgets",
  api_url: "https://api.github.com",
  kind: "progress",
  comment_mode: "edit",
  run_id: "EPIC-20251019T163000Z-ab12",
  seq,
  reason: "GitHub did not answer",
  outcome_unknown: false,
  unsure_until: null,
});

describe("queue file names", () => {
  it("are comment_YYYYMMDD_HHMMSS_ffffff.json in UTC with microseconds", () => {
    expect(queueFileName(Date.parse("2025-10-19T16:30:45.123Z"), 456)).toBe(
      "comment_20251019_163045_123456.json",
    );
    expect(queueFileName(Date.parse("2025-10-19T16:30:45.000Z"))).toBe("comment_20251019_163045_000000.json");
  });

  it("keep that shape for a time with a fraction of a millisecond, before 1970, or past what 4 digits show", () => {
    const at = Date.parse("2026-12-05T03:23:03.285Z");
    expect(queueFileName(at + 0.890625, 388)).toBe("comment_20261205_032303_285388.json");
    expect(queueFileName(Date.parse("1969-12-31T23:59:59.250Z") - 0.5, 7)).toBe(
      "comment_19691231_235959_249007.json",
    );
    expect(queueFileName(8.64e15)).toBe("comment_99991231_235959_999000.json");
    expect(queueFileName(-8.64e15)).toBe("comment_00000101_000000_000000.json");
  });
});

describe("OfflineQueue", () => {
  const setup = () => {
    const volume = new Volume();
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    let now = Date.parse("2025-10-19T16:30:45.123Z");
    const queue = new OfflineQueue(fs, "/epic", { now: () => now });
    return { volume, fs, queue, tick: (ms: number) => (now += ms) };
  };

  it("adds files that list back oldest first, without a token", async () => {
    const { queue, tick, volume } = setup();
    await queue.add(item(1));
    tick(5);
    await queue.add(item(2));
    const { entries, setAside } = await queue.list();
    expect(setAside).toEqual([]);
    expect(entries.map((e) => e.item.seq)).toEqual([1, 2]);
    expect(entries[0]!.name).toMatch(/^comment_20251019_163045_123\d{3}\.json$/);
    // The posts and the folder's own .gitignore: no temporary file left behind.
    const files = Object.keys(volume.toJSON()).filter((f) => f !== "/epic/.github_parallel_queue/.gitignore");
    expect(files).toHaveLength(2);
    expect(files.every((f) => f.startsWith("/epic/.github_parallel_queue/comment_"))).toBe(true);
    expect(String(volume.readFileSync("/epic/.github_parallel_queue/.gitignore"))).toMatch(/^\*$/m);
  });

  it("never overwrites: many adds in the same millisecond get distinct names", async () => {
    const { queue } = setup();
    const names = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.add(item(i))));
    expect(new Set(names).size).toBe(50);
    expect((await queue.list()).entries).toHaveLength(50);
  });

  it("sets a corrupt file aside, not deleting it", async () => {
    const { queue, fs } = setup();
    await queue.add(item(1));
    await fs.promises.writeFile("/epic/.github_parallel_queue/comment_20200101_000000_000000.json", "{oops");
    const { entries, setAside } = await queue.list();
    expect(entries).toHaveLength(1);
    expect(setAside).toEqual([
      {
        name: "comment_20200101_000000_000000.json",
        movedTo: "comment_20200101_000000_000000.json.corrupt",
        reason: "not valid JSON",
      },
    ]);
    expect(
      await fs.promises.readFile(
        "/epic/.github_parallel_queue/comment_20200101_000000_000000.json.corrupt",
        "utf8",
      ),
    ).toBe("{oops");
  });

  it("validates items field by field, naming the field and the value", () => {
    expect(validateItem("[]")).toBe("not a JSON object");
    expect(validateItem("{}")).toBe("issue_number is missing");
    expect(validateItem(JSON.stringify({ ...item(1), repo: "nope" }))).toBe(
      'repo must be owner/name, got "nope"',
    );
    expect(validateItem(JSON.stringify({ ...item(1), kind: "other" }))).toBe(
      'kind must be one of progress, final, got "other"',
    );
    expect(validateItem(JSON.stringify({ ...item(1), seq: "x" }))).toBe('seq must be a number, got "x"');
    expect(validateItem(JSON.stringify({ ...item(1), timestamp: "soon" }))).toBe(
      'timestamp must be an ISO 8601 time, got "soon"',
    );
    expect(validateItem(JSON.stringify({ ...item(1), outcome_unknown: "yes" }))).toBe(
      'outcome_unknown must be a boolean, got "yes"',
    );
    expect(validateItem(JSON.stringify(item(3)))).toEqual(item(3));
    const { api_url, comment_mode, reason, outcome_unknown, unsure_until, ...first } = item(2);
    expect(validateItem(JSON.stringify(first))).toEqual({
      ...item(2),
      api_url: "https://api.github.com",
      comment_mode: "edit",
      reason: "",
      outcome_unknown: false,
    });
  });

  it("sets aside a folder named like a queue file; a dry run moves nothing", async () => {
    const { queue, fs, volume } = setup();
    await queue.add(item(1));
    const folder = "/epic/.github_parallel_queue/comment_20200101_000000_000000.json";
    volume.mkdirSync(folder);
    const dry = await queue.list({ moveAside: false });
    expect(dry.entries).toHaveLength(1);
    expect(dry.setAside).toEqual([
      {
        name: "comment_20200101_000000_000000.json",
        movedTo: "comment_20200101_000000_000000.json.corrupt",
        reason: "a folder, not a file",
      },
    ]);
    expect((await fs.promises.stat(folder)).isDirectory()).toBe(true);
    const { entries, setAside } = await queue.list();
    expect(entries).toHaveLength(1);
    expect(setAside).toEqual(dry.setAside);
    expect((await fs.promises.stat(`${folder}.corrupt`)).isDirectory()).toBe(true);
    expect(queue.count()).toBe(1);
  });

  it("tells onSetAside of each file it moves aside, once, whichever listing moves it; a dry run tells nothing", async () => {
    const { fs } = setup();
    const told: string[] = [];
    const queue = new OfflineQueue(fs, "/epic", { now: () => 0 }, (aside) => told.push(aside.name));
    await queue.add(item(1));
    await fs.promises.writeFile("/epic/.github_parallel_queue/comment_20200101_000000_000000.json", "{oops");
    await queue.list({ moveAside: false });
    expect(told).toEqual([]);
    // Two listings at once (two processes' writes): the file is moved, and said, once.
    await Promise.all([queue.list(), queue.list()]);
    await queue.list();
    expect(told).toEqual(["comment_20200101_000000_000000.json"]);
  });

  it("removes delivered entries", async () => {
    const { queue } = setup();
    const name = await queue.add(item(1));
    await queue.remove(name!);
    expect((await queue.list()).entries).toEqual([]);
  });

  it("moves a file in the queue folder's place aside, with a warning, and queues in a new folder", async () => {
    const volume = new Volume();
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    volume.fromJSON({ "/epic/.github_parallel_queue": "" });
    const told: string[] = [];
    const queue = new OfflineQueue(fs, "/epic", { now: () => 0 }, (aside) => told.push(aside.movedTo));
    expect(await queue.list({ moveAside: false })).toEqual({
      entries: [],
      setAside: [
        { name: ".github_parallel_queue", movedTo: ".github_parallel_queue.corrupt", reason: "not a folder" },
      ],
    });
    expect(told).toEqual([]);
    expect((await queue.list()).entries).toEqual([]);
    expect(told).toEqual([".github_parallel_queue.corrupt"]);
    expect(volume.existsSync("/epic/.github_parallel_queue.corrupt")).toBe(true);
    expect(await queue.add(item(1))).toMatch(/^comment_/);
    expect((await queue.list()).entries.map((entry) => entry.item.seq)).toEqual([1]);
    // Again (a file committed in its place once more): the one set aside earlier is kept.
    volume.rmSync("/epic/.github_parallel_queue", { recursive: true });
    volume.writeFileSync("/epic/.github_parallel_queue", "second");
    const again = new OfflineQueue(fs, "/epic", { now: () => 0 }, (aside) => told.push(aside.movedTo));
    await again.list();
    expect(told.at(-1)).toBe(".github_parallel_queue.2.corrupt");
    expect(volume.readFileSync("/epic/.github_parallel_queue.corrupt", "utf8")).toBe("");
    expect(volume.readFileSync("/epic/.github_parallel_queue.2.corrupt", "utf8")).toBe("second");
    expect(new OfflineQueue(fs, "/epic", { now: () => 0 }).setAsideEarlier()).toEqual([
      "/epic/.github_parallel_queue.2.corrupt",
      "/epic/.github_parallel_queue.corrupt",
    ]);
    // The first ones read and deleted: a later one is still said, a link (dangling) too.
    volume.renameSync("/epic/.github_parallel_queue.2.corrupt", "/epic/.github_parallel_queue.3.corrupt");
    volume.unlinkSync("/epic/.github_parallel_queue.corrupt");
    volume.symlinkSync("/nowhere", "/epic/.github_parallel_queue.corrupt");
    expect(new OfflineQueue(fs, "/epic", { now: () => 0 }).setAsideEarlier()).toEqual([
      "/epic/.github_parallel_queue.3.corrupt",
      "/epic/.github_parallel_queue.corrupt",
    ]);
  });

  it("a queue folder that cannot be read or written is a warning (once each), not a failure", async () => {
    const volume = new Volume();
    const memfs = createFsFromVolume(volume) as unknown as FileSystem;
    volume.fromJSON({ "/epic/.github_parallel_queue/.gitignore": "*\n" });
    const denied = (syscall: string) =>
      Object.assign(new Error(`EACCES: permission denied, ${syscall}`), { code: "EACCES", syscall });
    const promises = new Proxy(memfs.promises, {
      get: (target, key) =>
        ["readdir", "writeFile", "link", "rm"].includes(String(key))
          ? () => Promise.reject(denied(String(key)))
          : Reflect.get(target, key),
    });
    const fs = { ...memfs, promises } as unknown as FileSystem;
    const told: string[] = [];
    const queue = new OfflineQueue(fs, "/epic", { now: () => 0 }, undefined, (message) => told.push(message));
    expect(await queue.add(item(1))).toBeNull();
    expect(await queue.add(item(2))).toBeNull();
    expect(await queue.list()).toEqual({ entries: [], setAside: [] });
    expect(await queue.remove("comment_20200101_000000_000000.json")).toBe(false);
    expect(await queue.exclusive(async () => "ran")).toBe("ran");
    expect(told).toHaveLength(3);
    expect(told[0]).toMatch(
      /^the offline queue \/epic\/.github_parallel_queue cannot be written \(EACCES\): a post was not queued; the run state still holds/,
    );
    expect(told[1]).toMatch(/cannot be read \(EACCES\): its posts are neither sent nor counted/);
    expect(told[2]).toMatch(
      /cannot be written \(EACCES\): a delivered entry could not be removed: it stays, counted as delivered, not as queued \(the issue shows it\); fix the folder's owner or mode$/,
    );
  });
});
