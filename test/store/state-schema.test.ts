import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createFsFromVolume, Volume } from "memfs";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { createRun } from "../../src/model/run.js";
import type { RunState } from "../../src/model/types.js";
import { FileRunStore } from "../../src/store/file-store.js";
import { stateToText, trustedState } from "../../src/store/state-text.js";
import type { FileSystem } from "../../src/util/io.js";
import { makeEpic, runCli } from "../support/cli.js";

/** Issue 11, item 7: the state file is validated on read; a bad one is one line naming it, exit 2. */

const PATH = "/epic/.parallel-progress/state.json";

const run = (): RunState =>
  createRun({
    epicId: "E",
    domains: ["a", "b"],
    now: Date.parse("2025-10-19T16:30:00Z"),
    github: {
      issueNumber: 5,
      repo: "o/r",
      apiUrl: "https://api.github.com",
      syncEnabled: true,
      commentMode: "edit",
      minIntervalMs: 1000,
    },
    nonce: "00",
  });

/** A store over a state file holding `value` as plain JSON (as a hand edit or an older version leaves it). */
function storeWith(value: unknown): FileRunStore {
  const volume = Volume.fromJSON({ [PATH]: `${JSON.stringify(value, null, 2)}\n` });
  return new FileRunStore(createFsFromVolume(volume) as unknown as FileSystem, "/epic");
}

/** A state file's JSON, edited by hand: any field, any value. */
// biome-ignore lint/suspicious/noExplicitAny: the tests write whatever a hand edit could
type Edited = Record<string, any>;

/** The run as plain JSON with `edit` applied. */
function edited(edit: (state: Edited) => void): unknown {
  const state = JSON.parse(JSON.stringify(run()));
  edit(state);
  return state;
}

async function readError(value: unknown): Promise<UsageError> {
  const error = await storeWith(value)
    .read()
    .then(
      () => null,
      (caught: unknown) => caught,
    );
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

const agentId = Object.keys(run().agents)[0]!;

describe("the state file on read", () => {
  it.each([
    [
      "a status that does not exist",
      (s: Edited) => {
        s.agents[agentId].status = "weird";
      },
      `agents.${agentId}.status must be one of pending, in_progress, completed, failed, cancelled, got "weird"`,
    ],
    [
      "a sequence number that is text",
      (s: Edited) => {
        s.seq = "x";
      },
      `seq must be a number, got "x"`,
    ],
    [
      "a file count that is text",
      (s: Edited) => {
        s.agents[agentId].filesTotal = "zz";
      },
      `agents.${agentId}.filesTotal must be a number, got "zz"`,
    ],
    [
      "more files done than in total",
      (s: Edited) => {
        s.agents[agentId].filesCompleted = 3;
      },
      `agents.${agentId}.filesCompleted cannot exceed filesTotal (0), got 3`,
    ],
    // The metrics' rules, as every change keeps them (a hand edit past them showed 50/10 iterations).
    [
      "more iterations than the most",
      (s: Edited) => {
        Object.assign(s.agents[agentId], { iteration: 50, maxIterations: 10 });
      },
      `agents.${agentId}.iteration cannot exceed maxIterations (10), got 50`,
    ],
    [
      "more criteria verified than in total",
      (s: Edited) => {
        Object.assign(s.agents[agentId], { criteriaVerified: 5, criteriaTotal: 4 });
      },
      `agents.${agentId}.criteriaVerified cannot exceed criteriaTotal (4), got 5`,
    ],
    [
      "a cost past the most a cost may be",
      (s: Edited) => {
        s.agents[agentId].costUsd = 1e308;
      },
      `agents.${agentId}.costUsd must be at most 1000000000, got 1e+308`,
    ],
    [
      "a missing field",
      (s: Edited) => {
        delete s.sync.postedSeq;
      },
      "sync.postedSeq must be a number, it is missing",
    ],
    [
      "an agent filed under another id",
      (s: Edited) => {
        s.agents[agentId].agentId = "other";
      },
      `agents.${agentId}.agentId must be "${agentId}", got "other"`,
    ],
    [
      "a parent named after a member of Object.prototype",
      (s: Edited) => {
        s.agents[agentId].parentId = "toString";
      },
      `agents.${agentId}.parentId must name an agent of the run, got "toString"`,
    ],
    [
      "a time past what a date holds (every command that showed or waited for it crashed)",
      (s: Edited) => {
        s.sync.lease = { owner: "x", expiresAt: 1e20 };
      },
      "sync.lease.expiresAt must be at most 253402300800000, got 100000000000000000000",
    ],
  ])("%s: one line naming the file, the field and the value", async (_, edit, message) => {
    const error = await readError(edited(edit));
    expect(error.message).toBe(
      `${PATH}: ${message} (edited by hand?): fix it, or start a new run with init --force (it keeps the file aside, as state.json.corrupt or the first free state.json.N.corrupt)`,
    );
    expect(error.message).not.toContain("\n");
  });

  it("keeps an older state file working: fields added later get their defaults", async () => {
    const old = edited((s) => {
      for (const agent of Object.values<Record<string, unknown>>(s.agents)) delete agent.events;
      delete s.stallAfterMs;
      delete s.sync.rateLimitedUntil;
      delete s.sync.finalCommentUrl;
    });
    const state = await storeWith(old).read();
    expect(state).toEqual(run());
  });

  it("drops the names of given settings it does not know (a newer version's, an interim build's apiUrl)", async () => {
    const state = await storeWith(edited((s) => (s.github.given = ["apiUrl", "repo", "labels"]))).read();
    expect(state!.github.given).toEqual(["repo"]);
  });

  it("keeps keys it does not know (written by a newer version)", async () => {
    const state = await storeWith(edited((s) => (s.agents[agentId].costUsd = 1.5))).read();
    expect((state!.agents[agentId] as unknown as Record<string, unknown>).costUsd).toBe(1.5);
  });

  it("trusts what the store wrote (checksum), and checks it again once edited", async () => {
    const text = stateToText(run());
    expect(JSON.parse(text)).toMatchObject({
      version: 1,
      checksum: expect.stringMatching(/^r\d+-[0-9a-f]+$/),
    });
    expect(trustedState(text)).toEqual(run());
    expect(trustedState(text.replace('"status":"pending"', '"status":"weird"'))).toBeNull();
    expect(trustedState(JSON.stringify(run()))).toBeNull();

    // A large state (the native checksum) too.
    const big = { ...run(), event: "x".repeat(20_000) };
    const bigText = stateToText(big);
    expect(JSON.parse(bigText).checksum).toMatch(/^r\d+-[0-9a-f]+-[0-9a-f]+$/);
    expect(trustedState(bigText)).toEqual(big);
    expect(trustedState(bigText.replace('"status":"pending"', '"status":"weird!!"'))).toBeNull();
    expect(trustedState(bigText.replace("xxxxx", "xxxxy"))).toBeNull();

    const volume = Volume.fromJSON({});
    const store = new FileRunStore(createFsFromVolume(volume) as unknown as FileSystem, "/epic");
    await store.transact(() => ({ next: run(), result: null }));
    expect(await store.read()).toEqual(run());
    const written = String(volume.readFileSync(PATH, "utf8"));
    volume.writeFileSync(PATH, written.replace('"seq":1', '"seq":"x"'));
    await expect(store.read()).rejects.toThrow(`${PATH}: seq must be a number, got "x"`);
  });
});

describe("a bad state file on the command line", () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it("is one line on stderr naming the file, exit 2, no stack, the file untouched", async () => {
    const made = await makeEpic();
    cleanup = made.cleanup;
    const dir = made.dir;
    expect((await runCli(["init", "--epic", "E", "--domains", "a,b", "--dir", dir])).code).toBe(0);
    const path = join(dir, ".parallel-progress", "state.json");
    const state = JSON.parse(await readFile(path, "utf8"));
    const id = Object.keys(state.agents)[0]!;
    state.agents[id].status = "weird";
    const text = JSON.stringify(state, null, 2);
    await writeFile(path, text);
    for (const args of [["status"], ["update", "a", "--status", "in_progress", "--files", "1/2"]]) {
      const result = await runCli([...args, "--dir", dir]);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toEqual([
        expect.stringContaining(
          `${path}: agents.${id}.status must be one of pending, in_progress, completed, failed, cancelled, got "weird"`,
        ),
      ]);
      expect(await readFile(path, "utf8")).toBe(text);
    }
    // init --force starts a new run, the bad file kept beside it.
    const forced = await runCli(["init", "--force", "--epic", "F", "--domains", "c", "--dir", dir]);
    expect(forced.code).toBe(0);
    expect(forced.stderr.trim()).toBe(
      `parallel-progress: warning: ${path}: agents.${id}.status must be one of pending, in_progress, completed, failed, cancelled, got "weird": moved aside as state.json.corrupt`,
    );
    expect(await readFile(`${path}.corrupt`, "utf8")).toBe(text);
    expect((await runCli(["status", "--json", "--dir", dir])).stdout).toContain('"epicId": "F"');
  });
});
