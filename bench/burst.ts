import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type FakeGitHub, startFakeGitHub } from "../test/support/fake-github/index.js";
import { type Epics, ISSUE, REPO, SYNCED_TASK } from "./lib/epic.js";
import { BIN, cleanEnv, cliOutput, drainFlushers, shortError, TOKEN, timeNode } from "./lib/proc.js";
import type { Section } from "./lib/report.js";
import { median, minGap, ms, quantile } from "./lib/stats.js";

/** Item 3: parallel agents hammering the CLI against a fake that enforces GitHub's write limits. */

export const AGENTS = 8;
export const UPDATES = 12;
export const CATCH_UP_TARGET_MS = 2_500;
export const MIN_GAP_TARGET_MS = 1_000;
/** Slack on the gap for millisecond timestamps taken by two different clocks' readers. */
const GAP_SLACK_MS = 10;
/** How long to wait for the final state before calling it never reached. */
const CATCH_UP_LIMIT_MS = 15_000;
/** The burst itself, bounded: far more than it needs on a loaded 2-core machine. */
const BURST_LIMIT_MS = 90_000;

const PROGRESS_MARKER = /<!-- parallel-progress:progress run=\S+ seq=(\d+) -->\s*$/;

export async function burstSection(epics: Epics): Promise<Section> {
  const github = await startFakeGitHub({
    tokens: { [TOKEN]: "octo-bot" },
    writesPerMinute: 80,
    minWriteIntervalMs: 1_000,
  });
  try {
    return await measure(github, epics);
  } finally {
    await github.close();
  }
}

async function measure(github: FakeGitHub, epics: Epics): Promise<Section> {
  const env = cleanEnv({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url });
  const dir = await epics.make(SYNCED_TASK);
  const domains = Array.from({ length: AGENTS }, (_, i) => `agent-${i + 1}`);
  await cliOutput(["init", "--epic", "BENCH-BURST", "--domains", domains.join(","), "--dir", dir], env);
  const initWrites = github.writes.length;

  const calls: { ms: number; code: number | null; stderr: string }[] = [];
  const started = performance.now();
  const deadline = started + BURST_LIMIT_MS;
  let lastExit = started;
  const agent = async (domain: string) => {
    for (let k = 1; k <= UPDATES + 1 && performance.now() < deadline; k++) {
      const args =
        k <= UPDATES
          ? ["update", domain, "--status", "in_progress", "--files", `${k}/${UPDATES}`, "--dir", dir]
          : ["complete", domain, "--dir", dir];
      const result = await timeNode([BIN, ...args], { env });
      calls.push(result);
      lastExit = Math.max(lastExit, performance.now());
    }
  };
  await Promise.all(domains.map(agent));
  const burstMs = lastExit - started;

  const total = AGENTS * UPDATES;
  const finalLine = `**Overall:** 100% (${total}/${total} files)`;
  const finalSeq = await readSeq(dir);
  const progressComments = () => github.comments(REPO, ISSUE).filter((c) => PROGRESS_MARKER.test(c.body));
  const isFinal = () =>
    progressComments().some((c) => {
      const seq = Number(PROGRESS_MARKER.exec(c.body)?.[1]);
      return c.body.includes(finalLine) && (finalSeq === null || seq === finalSeq);
    });
  let caughtUpAt: number | null = null;
  while (performance.now() - lastExit < CATCH_UP_LIMIT_MS) {
    if (isFinal()) {
      caughtUpAt = performance.now();
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const catchUp = caughtUpAt === null ? Number.NaN : caughtUpAt - lastExit;
  const killed = await drainFlushers(dir, 10_000);
  const writersDone = performance.now() - lastExit;

  const failed = calls.filter((c) => c.code !== 0);
  const comments = progressComments();
  const markdown = (await cliOutput(["status", "--markdown", "--dir", dir], env)).trimEnd();
  const exact = comments.length === 1 && comments[0]!.body.trimEnd() === markdown;
  const writes = github.writes;
  const gap = minGap(writes);
  const burstWrites = writes.length - initWrites;
  const byMethod = new Map<string, number>();
  for (const request of github.requests)
    byMethod.set(request.method, (byMethod.get(request.method) ?? 0) + 1);
  const methods = [...byMethod].map(([method, count]) => `${method} ${count}`).join(", ");
  const times = calls.map((c) => c.ms);

  const table = [
    ["measure", "value"],
    ["CLI calls (8 agents x 12 updates + complete)", `${calls.length} (+1 init)`],
    ["failed calls", String(failed.length)],
    ["GitHub writes", `${burstWrites} (+${initWrites} by init)`],
    ["GitHub requests by method (init's included)", methods],
    ["rate-limit responses", String(github.rateLimitResponses)],
    ["minimum gap between writes", ms(gap)],
    ["wall time of the burst", ms(burstMs)],
    [
      "one call during the burst: median / p90 / max",
      `${ms(median(times))} / ${ms(quantile(times, 0.9))} / ${ms(Math.max(...times))}`,
    ],
    ["catch-up: last exit → comment shows the final state", ms(catchUp)],
    ["background writers gone after last exit", `${ms(writersDone)} (killed: ${killed})`],
    ["progress comments on the issue", String(comments.length)],
    ["comment body = `status --markdown`", exact ? "yes" : "no"],
  ];
  const notes = [`writes per CLI call: ${(burstWrites / Math.max(1, calls.length)).toFixed(2)} (coalesced)`];
  if (failed[0]) notes.push(`first failed call: ${shortError(failed[0].stderr)}`);
  return {
    title: `3. Burst: ${AGENTS} parallel agents x ${UPDATES} updates + complete (fake: 80 writes/min, 1 s between writes)`,
    table,
    notes,
    targets: [
      {
        name: "burst: every CLI call exits 0",
        value: `${failed.length} failed`,
        goal: "0 failed",
        pass: failed.length === 0,
      },
      {
        name: "burst: rate-limit responses",
        value: String(github.rateLimitResponses),
        goal: "0",
        pass: github.rateLimitResponses === 0,
      },
      {
        name: "burst: minimum gap between writes",
        value: ms(gap),
        goal: `≥ ${MIN_GAP_TARGET_MS} ms`,
        pass: gap >= MIN_GAP_TARGET_MS - GAP_SLACK_MS,
      },
      {
        name: "burst: catch-up to the exact final state",
        value: ms(catchUp),
        goal: `≤ ${CATCH_UP_TARGET_MS} ms`,
        pass: catchUp <= CATCH_UP_TARGET_MS,
      },
      {
        name: "burst: one progress comment, equal to `status --markdown`",
        value: `${comments.length}, ${exact ? "equal" : "different"}`,
        goal: "1, equal",
        pass: exact,
      },
      {
        name: "burst: background writers exit on their own",
        value: `${killed} killed`,
        goal: "0 killed",
        pass: killed === 0,
      },
    ],
    readme: [
      ["burst: CLI calls / GitHub writes", `${calls.length} / ${burstWrites}`, ""],
      ["burst: rate-limit responses", String(github.rateLimitResponses), "0"],
      ["burst: minimum gap between writes", ms(gap), `≥ ${MIN_GAP_TARGET_MS} ms`],
      ["burst: wall time", ms(burstMs), ""],
      ["burst: time to catch up after the last call", ms(catchUp), `≤ ${CATCH_UP_TARGET_MS} ms`],
    ],
  };
}

/** The run's sequence number, from its state file (null when it cannot be read). */
async function readSeq(dir: string): Promise<number | null> {
  try {
    const state = JSON.parse(await readFile(join(dir, ".parallel-progress", "state.json"), "utf8")) as {
      seq?: unknown;
    };
    return typeof state.seq === "number" ? state.seq : null;
  } catch {
    return null;
  }
}
