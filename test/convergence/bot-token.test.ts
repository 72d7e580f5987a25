import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMarker } from "../../src/render/marker.js";
import { useInProcessGitHub } from "../support/virtual-github.js";

/**
 * A token that cannot read /user (GitHub Actions' GITHUB_TOKEN, a GitHub App installation token), in-process
 * (moved from test/cli/github.test.ts; test/cli/footprint.test.ts keeps such a token's `init` and
 * `finalize` as processes: one request at init, no GET /user).
 */

const BOT = "github-actions[bot]";
const inProcess = useInProcessGitHub("ghs_actionsinstallationtoken0123456789ab", BOT);

describe("a token without access to /user", () => {
  it("learns its login from the comment it created, and finds that comment by marker after a deletion", async () => {
    const run = await inProcess({ fake: { viewerForbidden: true } });
    const { gh } = run;
    const byKind = (kind: "progress" | "final") =>
      gh.comments("acme/widgets", 123).filter((c) => parseMarker(c.body)?.kind === kind);
    const agents = await run.reporter().initializeParallelTracking("E", ["a", "b"]);
    await run.settle();
    gh.addComment("acme/widgets", 123, byKind("progress")[0]!.body, "someone-else"); // a copy by a person
    const state = JSON.parse(await readFile(join(run.dir, ".parallel-progress/state.json"), "utf8"));
    expect(state.sync.viewer).toBe(BOT); // learned from the comment it created
    expect(gh.removeComment(state.sync.commentId)).toBe(true); // deleted: found again among the bot's comments

    await run.reporter().markAgentComplete(agents[0]!.agentId);
    await run.settle();
    await run.reporter().finalizeParallelExecution("ok");
    await run.settle();
    const mine = byKind("progress").filter((c) => c.author === BOT);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.body).toContain("**Parallel execution completed**");
    expect(byKind("progress").filter((c) => c.author === "someone-else")).toHaveLength(1);
    expect(byKind("final")).toHaveLength(1);
    expect(gh.requests.filter((r) => r.path.startsWith("/user"))).toHaveLength(0);
  });
});
