import { execFile, execFileSync } from "node:child_process";
import nodeFs from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createFsFromVolume, Volume } from "memfs";
import { afterEach, describe, expect, it } from "vitest";
import { createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { withLock } from "../../src/store/lock.js";
import { stateToText } from "../../src/store/state-text.js";
import type { FileSystem } from "../../src/util/io.js";
import { waitFor } from "../support/cli.js";

const run = (): RunState =>
  createRun({
    epicId: "E",
    domains: ["a"],
    now: 0,
    github: {
      issueNumber: null,
      repo: null,
      apiUrl: "x",
      syncEnabled: true,
      commentMode: "edit",
      minIntervalMs: 0,
    },
    nonce: "00",
  });

describe("FileRunStore on memfs", () => {
  it("reads null before a run, persists transactions, leaves state alone when next is undefined", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const store = new FileRunStore(fs, "/epic");
    expect(await store.read()).toBeNull();
    await store.transact(() => ({ next: run(), result: undefined }));
    const result = await store.transact((current) => ({ result: current?.seq }));
    expect(result).toBe(1);
    expect((await store.read())?.epicId).toBe("E");
  });

  it("gives each transaction `now` from the injected clock", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    let now = 1234;
    const store = new FileRunStore(fs, "/epic", { clock: { now: () => now } });
    expect(await store.transact((_current, at) => ({ result: at }))).toBe(1234);
    now = 5678;
    expect(await store.transact((_current, at) => ({ next: run(), result: at }))).toBe(5678);
    expect(store.location).toBe("/epic/.parallel-progress/state.json");
  });

  it("refuses a state file that is not ours with a clear message", async () => {
    const volume = Volume.fromJSON({ "/epic/.parallel-progress/state.json": "{not json" });
    const store = new FileRunStore(createFsFromVolume(volume) as unknown as FileSystem, "/epic");
    await expect(store.read()).rejects.toThrow(/state.json is not valid JSON/);
  });

  it("sets an unreadable state aside under the state lock, saying what is wrong without the advice", async () => {
    const volume = Volume.fromJSON({ "/epic/.parallel-progress/state.json": "{not json" });
    const fs = createFsFromVolume(volume) as unknown as FileSystem;
    const store = new FileRunStore(fs, "/epic");
    // A writer holds the lock and repairs the file: the set-aside reads it only after, and keeps it.
    let release = () => {};
    const held = withLock(
      store.paths.lock,
      { fs },
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const aside = store.setAsideUnreadable();
    fs.writeFileSync(store.paths.state, stateToText(run()));
    release();
    await held;
    expect(await aside).toBeNull();
    expect(fs.existsSync(`${store.paths.state}.corrupt`)).toBe(false);

    fs.writeFileSync(store.paths.state, "{not json");
    expect(await store.setAsideUnreadable()).toEqual({
      problem: `${store.paths.state} is not valid JSON`,
      movedTo: "state.json.corrupt",
    });
    expect(fs.existsSync(`${store.paths.state}.corrupt`)).toBe(true);
    // Again: the file set aside earlier is kept, the new one beside it.
    fs.writeFileSync(store.paths.state, "{second");
    expect((await store.setAsideUnreadable())?.movedTo).toBe("state.json.2.corrupt");
    expect(fs.readFileSync(`${store.paths.state}.corrupt`, "utf8")).toBe("{not json");
    expect(fs.readFileSync(`${store.paths.state}.2.corrupt`, "utf8")).toBe("{second");
  });

  it("a set-aside whose lock was taken over while it read leaves what the next holder wrote", async () => {
    const volume = Volume.fromJSON({ "/epic/.parallel-progress/state.json": "{not json" });
    const memfs = createFsFromVolume(volume) as unknown as FileSystem;
    const store = new FileRunStore(memfs, "/epic");
    let stalled = false;
    // Stalled past the lock's staleness after its read: another process took the lock, set the bad file
    // aside and started a run (its state written over state.json), then released the lock.
    const fs = new Proxy(memfs, {
      get: (target, key) => {
        const value = Reflect.get(target, key) as unknown;
        if (key !== "readFileSync") return typeof value === "function" ? value.bind(target) : value;
        return (path: string, ...rest: unknown[]) => {
          const text = target.readFileSync(path, ...(rest as [BufferEncoding]));
          if (!stalled && path === store.paths.state) {
            stalled = true;
            target.rmdirSync(store.paths.lock);
            target.mkdirSync(store.paths.lock);
            target.renameSync(store.paths.state, `${store.paths.state}.corrupt`);
            target.writeFileSync(store.paths.state, stateToText(run()));
            target.rmdirSync(store.paths.lock);
          }
          return text;
        };
      },
    }) as FileSystem;
    expect(await new FileRunStore(fs, "/epic").setAsideUnreadable()).toBeNull();
    expect(volume.readFileSync(`${store.paths.state}.corrupt`, "utf8")).toBe("{not json");
    expect(JSON.parse(volume.readFileSync(store.paths.state, "utf8") as string).runId).toBe(run().runId);
  });

  it("reads only a file of a run state's size: a folder, a named pipe or a huge file is refused and set aside", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pp-state-kind-"));
    try {
      const store = new FileRunStore(nodeFs, dir);
      nodeFs.mkdirSync(store.paths.dir);
      const cases: [string, () => void][] = [
        ["a folder, not a run state file", () => nodeFs.mkdirSync(store.paths.state)],
        ["a named pipe, not a run state file", () => execFileSync("mkfifo", [store.paths.state])],
        [
          "70000000 bytes, more than a run state holds (64 MiB)",
          () => {
            nodeFs.writeFileSync(store.paths.state, "");
            nodeFs.truncateSync(store.paths.state, 70_000_000); // sparse: no disk used
          },
        ],
      ];
      for (const [what, make] of cases) {
        make();
        await expect(store.read()).rejects.toMatchObject({
          name: "UnreadableStateError",
          problem: `${store.paths.state} is ${what}`,
        });
        expect((await store.setAsideUnreadable())?.problem).toBe(`${store.paths.state} is ${what}`);
        expect(await store.read()).toBeNull();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("releases the lock when the change throws", async () => {
    const fs = createFsFromVolume(new Volume()) as unknown as FileSystem;
    const store = new FileRunStore(fs, "/epic");
    await expect(
      store.transact(() => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await store.transact(() => ({ next: run(), result: undefined }));
    expect(await store.read()).not.toBeNull();
  });
});

describe("FileRunStore across processes", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const worker = (epic: string, count: number, label: string) => `
    import { FileRunStore } from ${JSON.stringify(join(process.cwd(), "dist/lib/store/file-store.js"))};
    import fs from "node:fs";
    const store = new FileRunStore(fs, ${JSON.stringify(epic)});
    for (let i = 0; i < ${count}; i++) {
      await store.transact((s) => ({ next: { ...s, seq: s.seq + 1, event: ${JSON.stringify(label)} + i }, result: 0 }));
    }`;

  it("loses no change when 8 processes write at once", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-store-"));
    const store = new FileRunStore(nodeFs, dir);
    await store.transact(() => ({ next: run(), result: undefined }));
    const exec = promisify(execFile);
    await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        exec(process.execPath, ["--input-type=module", "-e", worker(dir, 25, `p${n}-`)]),
      ),
    );
    const state = await store.read();
    expect(state?.seq).toBe(1 + 8 * 25);
  });

  it("notifies a subscriber of another process's change, and stops when unsubscribed", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-store-"));
    const store = new FileRunStore(nodeFs, dir);
    await store.transact(() => ({ next: run(), result: undefined }));
    let calls = 0;
    let notified: () => void = () => undefined;
    const stop = await store.subscribe(() => {
      calls++;
      notified();
    });
    const seen = new Promise<void>((resolve) => {
      notified = resolve;
    });
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", worker(dir, 1, "other")]);
    await seen;
    expect((await store.read())?.event).toBe("other0");
    await stop();
    const before = calls;
    // A second subscriber is the barrier: once it has heard of the change, the first would have too.
    let heard: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => {
      heard = resolve;
    });
    await store.subscribe(() => heard());
    await store.transact((s) => ({ next: { ...s!, seq: s!.seq + 1 }, result: 0 }));
    await barrier;
    await store.close();
    expect(calls).toBe(before);
  });

  it("follows its state folder: made after the subscription, then removed and made again", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-store-"));
    const store = new FileRunStore(nodeFs, dir);
    let calls = 0;
    await store.subscribe(() => calls++);
    expect(nodeFs.existsSync(store.paths.dir)).toBe(false); // a subscription makes nothing
    // `init` makes the folder: heard.
    await store.transact(() => ({ next: run(), result: undefined }));
    expect(await waitFor(() => calls > 0)).toBe(true);
    // The folder removed with the run, then a new run: its changes are heard through the new folder.
    await rm(store.paths.dir, { recursive: true, force: true });
    const removed = calls;
    await store.transact(() => ({ next: run(), result: undefined }));
    expect(await waitFor(() => calls > removed)).toBe(true);
    // Only the new folder's watch can hear this one.
    const before = calls;
    await store.transact((s) => ({ next: { ...s!, seq: s!.seq + 1 }, result: 0 }));
    expect(await waitFor(() => calls > before)).toBe(true);
    await store.close();
  });

  it("follows its epic directory removed (rm -rf) and made again", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-store-"));
    const store = new FileRunStore(nodeFs, dir);
    await store.transact(() => ({ next: run(), result: undefined }));
    let calls = 0;
    await store.subscribe(() => calls++);
    await rm(dir, { recursive: true, force: true });
    expect(await waitFor(() => calls > 0)).toBe(true); // the run is gone
    await mkdir(dir);
    const made = calls;
    await store.transact(() => ({ next: run(), result: undefined }));
    expect(await waitFor(() => calls > made, 5_000)).toBe(true);
    // Only the new directory's watches can hear this one.
    const before = calls;
    await store.transact((s) => ({ next: { ...s!, seq: s!.seq + 1 }, result: 0 }));
    expect(await waitFor(() => calls > before)).toBe(true);
    await store.close();
  });

  it("follows its epic directory removed and made again before its watch heard it", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-store-"));
    const store = new FileRunStore(nodeFs, dir);
    await store.transact(() => ({ next: run(), result: undefined }));
    let calls = 0;
    await store.subscribe(() => calls++);
    // In one go: the watch's events come after the directory is back (a loaded machine, `git clean` + init).
    nodeFs.rmSync(dir, { recursive: true, force: true });
    nodeFs.mkdirSync(dir);
    // The watches' events for the removal come now, the new directory there already, no run in it yet.
    expect(await waitFor(() => calls > 0)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    await store.transact(() => ({ next: run(), result: undefined }));
    const made = calls;
    await store.transact((s) => ({ next: { ...s!, seq: s!.seq + 1 }, result: 0 }));
    expect(await waitFor(() => calls > made)).toBe(true);
    // Only the new directory's watches can hear this one.
    const before = calls;
    await store.transact((s) => ({ next: { ...s!, seq: s!.seq + 1 }, result: 0 }));
    expect(await waitFor(() => calls > before)).toBe(true);
    await store.close();
  });

  it("stays readable when writers are killed with SIGKILL at random moments", async () => {
    dir = await mkdtemp(join(tmpdir(), "pp-store-"));
    const store = new FileRunStore(nodeFs, dir);
    await store.transact(() => ({ next: run(), result: undefined }));
    // A killed holder's lock (and a takeover guard) aged past the 3 s stale timeout, as waiting would.
    const ageLeftLocks = () => {
      const past = new Date(Date.now() - 60_000);
      for (const path of [store.paths.lock, `${store.paths.lock}.takeover`]) {
        if (nodeFs.existsSync(path)) nodeFs.utimesSync(path, past, past);
      }
    };
    for (let round = 0; round < 4; round++) {
      const child = execFile(process.execPath, ["--input-type=module", "-e", worker(dir, 100_000, "k")]);
      // Killed once it has written a random number of changes: mid-way through one, at a random moment.
      const target = (await store.read())!.seq + 1 + Math.floor(Math.random() * 40);
      const wrote = await waitFor(async () => ((await store.read().catch(() => null))?.seq ?? 0) >= target);
      child.kill("SIGKILL");
      expect(wrote).toBe(true);
      await new Promise((resolve) => child.on("exit", resolve));
      const text = await readFile(join(dir, ".parallel-progress/state.json"), "utf8");
      expect(() => JSON.parse(text)).not.toThrow();
      ageLeftLocks();
    }
    // The next writer gets the lock (taken over once stale) and the state stays consistent.
    const before = (await store.read())!.seq;
    await store.transact((s) => ({ next: { ...s!, seq: s!.seq + 1 }, result: 0 }));
    expect((await store.read())!.seq).toBe(before + 1);
  });
});
