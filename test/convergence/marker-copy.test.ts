import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { finalMarker, parseMarker } from "../../src/render/marker.js";
import { type InProcessRun, useInProcessGitHub } from "../support/virtual-github.js";

/**
 * A comment by the token's own user that quotes one of the run's bodies, marker included, with text of its
 * own after it: in GitHub Actions every step posts as github-actions[bot], so a step posting
 * `status --markdown`'s output with a note under it is such a comment. It is not the run's: never edited,
 * never deleted.
 */

const inProcess = useInProcessGitHub();
const NOTE = "IMPORTANT REVIEW TEXT that must stay.";

async function commentId(run: InProcessRun): Promise<number> {
  const state = JSON.parse(await readFile(join(run.dir, ".parallel-progress/state.json"), "utf8"));
  return state.sync.commentId;
}

/** The run's progress comment as a step would quote it, with a note after it, posted as the token's user. */
function postCopy(run: InProcessRun, marker?: string) {
  const progress = run.gh
    .comments("acme/widgets", 123)
    .find((c) => parseMarker(c.body)?.kind === "progress")!;
  const quoted = marker ? progress.body.replace(/<!-- parallel-progress:[^>]*-->/, marker) : progress.body;
  return run.gh.addComment("acme/widgets", 123, `Review by step 3:\n\n${quoted}\n\n${NOTE}`, "octo-bot");
}

describe("a copy of the run's marker with text after it", () => {
  it("is not taken over when the progress comment is deleted, nor deleted by finalize", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a", "b"]);
    await run.settle();
    const copy = postCopy(run);
    expect(run.gh.removeComment(await commentId(run))).toBe(true); // a person deletes the progress comment

    await run.reporter().markAgentComplete(agents[0]!.agentId);
    await run.settle();
    await run.reporter().markAgentComplete(agents[1]!.agentId);
    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();

    const comments = run.gh.comments("acme/widgets", 123);
    expect(comments.find((c) => c.id === copy.id)?.body).toBe(copy.body);
    expect(run.seqs("progress")).toHaveLength(1);
    expect(run.seqs("final")).toHaveLength(1);
    expect(await commentId(run)).not.toBe(copy.id);
  });

  it("is not deleted as a duplicate by finalize", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a"]);
    await run.settle();
    const copy = postCopy(run);
    await run.reporter().markAgentComplete(agents[0]!.agentId);
    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();

    expect(run.gh.comments("acme/widgets", 123).find((c) => c.id === copy.id)?.body).toBe(copy.body);
    expect(run.seqs("final")).toHaveLength(1);
  });

  it("holding the final marker is not taken for the run's final summary", async () => {
    const run = await inProcess();
    const agents = await run.reporter().initializeParallelTracking("E", ["a"]);
    await run.settle();
    const state = JSON.parse(await readFile(join(run.dir, ".parallel-progress/state.json"), "utf8"));
    const copy = postCopy(run, finalMarker(state.runId));
    await run.reporter().markAgentComplete(agents[0]!.agentId);
    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();

    const finals = run.gh.comments("acme/widgets", 123).filter((c) => c.body.includes("Final Summary"));
    expect(finals).toHaveLength(1);
    expect(parseMarker(finals[0]!.body)).toEqual({ kind: "final", runId: state.runId, seq: null });
    expect(run.gh.comments("acme/widgets", 123).find((c) => c.id === copy.id)?.body).toBe(copy.body);
  });
});
