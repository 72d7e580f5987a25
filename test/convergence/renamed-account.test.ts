import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { type InProcessRun, useInProcessGitHub } from "../support/virtual-github.js";

/**
 * The token's account renamed mid-run: GitHub shows the new login on all of its comments, the run's own
 * included. The run still knows them for its own (by the user's numeric id): one progress comment, edited
 * in place, and one final summary; retry and finalize converge.
 */

const inProcess = useInProcessGitHub();
const STATE = ".parallel-progress/state.json";

async function readState(run: InProcessRun) {
  return JSON.parse(await readFile(join(run.dir, STATE), "utf8"));
}

/** complete every agent, rename the account, then finalize twice and retry. */
async function finishAfterRename(run: InProcessRun, agents: readonly { agentId: string }[]) {
  await run.reporter().markAgentComplete(agents[0]!.agentId);
  await run.settle();
  run.gh.renameUser("octo-bot", "octo-renamed");
  for (const agent of agents.slice(1)) await run.reporter().markAgentComplete(agent.agentId);
  await run.settle();
  await run.reporter().finalizeParallelExecution("ok");
  await run.settle();
  await run.reporter().finalizeParallelExecution();
  await run.reporter().retryReport();
  await run.settle();
}

function expectOneOfEach(run: InProcessRun) {
  const comments = run.gh.comments("acme/widgets", 123);
  expect(run.seqs("progress")).toHaveLength(1);
  expect(run.seqs("final")).toHaveLength(1);
  expect(comments.every((c) => c.author === "octo-renamed")).toBe(true);
  expect(comments.find((c) => c.body.includes("Final Summary"))).toBeDefined();
  const progress = comments.filter((c) => parseMarker(c.body)?.kind === "progress");
  expect(progress[0]?.body).toContain("**Parallel execution completed**");
}

describe("the token's account renamed mid-run", () => {
  it("keeps editing the run's one progress comment, and posts one final summary", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a", "b"]);
    await run.settle();
    const { sync } = await readState(run);
    expect(sync).toMatchObject({ viewer: "octo-bot", viewerId: expect.any(Number) });

    await finishAfterRename(run, agents);
    expectOneOfEach(run);
    expect((await readState(run)).sync.commentId).toBe(sync.commentId);
  });

  it("makes no duplicate of a create whose answer was lost", async () => {
    const run = await inProcess();
    run.gh.setFaults({ loseCreateResponses: 1 });
    const agents = await run.reporter().initializeParallelTracking("E", ["a", "b"]);
    await run.settle();
    await finishAfterRename(run, agents);
    expectOneOfEach(run);
  });

  it("finds its comment by its recorded id in a state an earlier release wrote (no user id in it)", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a"]);
    await run.settle();
    await run.reporter().markAgentComplete(agents[0]!.agentId);
    await run.settle();
    run.gh.renameUser("octo-bot", "octo-renamed");
    const state = await readState(run);
    delete state.sync.viewerId;
    await writeFile(join(run.dir, STATE), JSON.stringify(state));

    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();
    await run.reporter().retryReport();
    expectOneOfEach(run);
    expect((await readState(run)).sync).toMatchObject({
      viewer: "octo-renamed",
      viewerId: expect.any(Number),
    });
  });
});
