import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { type InProcessRun, useInProcessGitHub } from "../support/virtual-github.js";

/**
 * A person edits the run's progress comment's marker by hand. What the run posts, and how often, follows
 * the run's state, not what the marker now claims.
 */

const inProcess = useInProcessGitHub();

async function readState(run: InProcessRun) {
  return JSON.parse(await readFile(join(run.dir, ".parallel-progress/state.json"), "utf8"));
}

/** The run's progress comment, edited by hand with `edit` applied to its body. */
async function editProgressComment(run: InProcessRun, edit: (body: string) => string) {
  const id = (await readState(run)).sync.commentId;
  const comment = run.gh.comments("acme/widgets", 123).find((c) => c.id === id)!;
  run.gh.editComment(id, edit(comment.body));
  return id;
}

describe("a progress comment whose marker a person edited", () => {
  it("with a seq above any the run reached: finalize rewrites it with the run's state", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a", "b"]);
    await run.reporter().updateAgentProgress(agents[0]!.agentId, "in_progress", 1, 3);
    for (const agent of agents) await run.reporter().markAgentComplete(agent.agentId);
    await run.settle();
    const id = await editProgressComment(run, (body) =>
      body.replace(/seq=\d+/, "seq=99999").replaceAll("✅ Completed", "🔄 In Progress (edited by hand)"),
    );

    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();

    const state = await readState(run);
    const comment = run.gh.comments("acme/widgets", 123).find((c) => c.id === id)!;
    expect(comment.body).not.toContain("edited by hand");
    expect(comment.body).toContain("**Parallel execution completed**");
    expect(parseMarker(comment.body)).toEqual({ kind: "progress", runId: state.runId, seq: state.seq });
    expect(state.sync.postedSeq).toBe(state.seq);
    expect(run.seqs("progress")).toHaveLength(1);
    expect(run.seqs("final")).toHaveLength(1);
  });

  it("changed to a final marker: not taken for the final summary, which finalize posts once", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a", "b"]);
    for (const agent of agents) await run.reporter().markAgentComplete(agent.agentId);
    await run.settle();
    const id = await editProgressComment(run, (body) =>
      body.replace(/progress run=(\S+) seq=\d+/, "final run=$1"),
    );

    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();
    await run.reporter().finalizeParallelExecution();
    await run.reporter().retryReport();
    await run.settle();

    const state = await readState(run);
    const comments = run.gh.comments("acme/widgets", 123);
    const finals = comments.filter((c) => c.body.includes("Final Summary"));
    expect(finals).toHaveLength(1);
    expect(finals[0]!.id).not.toBe(id);
    expect(state.sync.finalCommentId).toBe(finals[0]!.id);
    expect(parseMarker(comments.find((c) => c.id === id)!.body)).toEqual({
      kind: "progress",
      runId: state.runId,
      seq: state.seq,
    });
    expect(run.seqs("final")).toHaveLength(1);
  });
});
