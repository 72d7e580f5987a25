import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { IssueComment, RepoRef } from "../../src/github/types.js";
import { createParallelReporter } from "../../src/index.js";
import { MemoryClient } from "../support/memory-client.js";

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** A promise and its resolve (Promise.withResolvers is Node 22's). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A client whose edits wait while the gate is closed, telling the test when one waits. */
class GatedClient extends MemoryClient {
  private gate: ReturnType<typeof signal> | null = null;
  private waiting = signal();
  private inFlight = 0;
  /** The most edits in flight at once. */
  mostInFlight = 0;

  close(): void {
    this.gate = signal();
    this.waiting = signal();
  }

  /** Resolves once an edit waits at the closed gate. */
  editWaiting(): Promise<void> {
    return this.waiting.promise;
  }

  open(): void {
    this.gate?.resolve();
    this.gate = null;
  }

  override async updateComment(repo: RepoRef, id: number, body: string): Promise<IssueComment> {
    this.mostInFlight = Math.max(this.mostInFlight, ++this.inFlight);
    try {
      if (this.gate) {
        this.waiting.resolve();
        await this.gate.promise;
      }
      return await super.updateComment(repo, id, body);
    } finally {
      this.inFlight--;
    }
  }
}

/**
 * A reporter on the test's own clock (a wait passes it at once) whose first write is done and whose timer
 * writer's edit of the second change waits at the closed gate, taken at `start` + 300 ms (the interval).
 */
async function writerAtTheGate() {
  const dir = await mkdtemp(join(tmpdir(), "pp-timer-writer-"));
  folders.push(dir);
  const start = Date.parse("2026-12-03T10:00:00Z");
  const clock = { now: start };
  const client = new GatedClient();
  const reporter = createParallelReporter(dir, {
    env: {},
    client,
    clock: { now: () => clock.now },
    sleep: async (ms) => {
      clock.now += ms;
    },
    github: { issueNumber: 5, repo: "o/r", minIntervalMs: 300 },
  });
  await reporter.initializeParallelTracking("E", ["api"]);
  await reporter.updateAgentProgress("api", "in_progress", 1, 3); // the first write, made by the call
  client.close();
  // Within the interval: left to the timer writer.
  await reporter.updateAgentProgress("api", "in_progress", 2, 3);
  await client.editWaiting();
  return { reporter, client, clock, start };
}

describe("the library's timer writer", () => {
  it("lives on 15 s from the reporter's latest change, not from its own start: a change made as its 15 s end is written, not left queued", async () => {
    const { reporter, client, clock, start } = await writerAtTheGate();
    // Its 15 s are over once its edit returns; its write lease (taken after the 300 ms) is not.
    clock.now = start + 15_100;
    await reporter.updateAgentProgress("api", "in_progress", 3, 3);
    client.open();
    await reporter.flush();
    expect(client.comments).toHaveLength(1);
    expect(client.comments[0]!.body).toContain("| 3/3 |");
    expect(client.calls.filter((call) => call === "update:1")).toHaveLength(2);
    expect((await reporter.status()).sync.queued).toBe(0);
    await reporter.close();
  });

  it("and the calls of its reporter never write at once: a change made while the writer's edit is slow is left to the writer", async () => {
    const { reporter, client, clock, start } = await writerAtTheGate();
    // The interval since the writer's edit started is over; the edit is still in flight.
    clock.now = start + 1000;
    await reporter.updateAgentProgress("api", "in_progress", 3, 3);
    client.open();
    await reporter.flush();
    expect(client.mostInFlight).toBe(1);
    expect(client.calls.filter((call) => call === "update:1")).toHaveLength(2);
    expect(client.comments[0]!.body).toContain("| 3/3 |");
    expect((await reporter.status()).sync.queued).toBe(0);
    await reporter.close();
  });
});
