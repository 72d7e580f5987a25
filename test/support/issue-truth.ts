import { expect } from "vitest";
import type { StatusView } from "../../src/model/status-view.js";
import { parseMarker } from "../../src/render/marker.js";
import { queueFiles } from "./cli.js";
import type { FakeGitHub, StoredComment } from "./fake-github/index.js";

/** What the fault scenarios (test/cli/faults, test/convergence/faults) hold the issue to: the truth. */

export const LABELS: Record<string, string> = {
  pending: "⏳ Pending",
  in_progress: "🔄 In Progress",
  completed: "✅ Completed",
  failed: "❌ Failed",
  cancelled: "⏹️ Cancelled",
};

/** Our comments of one kind for a run: by the token's user (`login`), with the run's marker. */
export function ourComments(
  gh: FakeGitHub,
  where: { repo: string; issue: number; login: string },
  runId: string,
  kind: "progress" | "final",
): StoredComment[] {
  return gh.comments(where.repo, where.issue).filter((comment) => {
    const marker = parseMarker(comment.body);
    return comment.author === where.login && marker?.kind === kind && marker.runId === runId;
  });
}

export function withoutMarker(body: string): string {
  return body.replace(/\n*<!-- parallel-progress:[^\n]*-->[ \t]*\s*$/, "").trimEnd();
}

/** Each row and the Overall line of the run as `status --json` reports it. */
export function expectRowsOf(body: string, view: StatusView): void {
  for (const agent of view.agents) {
    const row = `| ${agent.domain} | ${agent.agentId} | ${LABELS[agent.status]} | ${agent.filesCompleted}/${agent.filesTotal} | ${agent.progress}% |`;
    expect(body, `row of ${agent.domain}`).toContain(row);
  }
  const { overall } = view;
  expect(body).toContain(
    `**Overall:** ${overall.progress}% (${overall.filesCompleted}/${overall.filesTotal} files)`,
  );
}

/**
 * The issue once a finalized run has converged: exactly one progress comment and one final summary of the
 * run by the token's user, reading `expected` (without the marker) and the rows `view` reports; everything
 * posted (postedSeq, the final summary) and the queue in `dir` empty.
 */
export async function expectConvergedIssue(
  gh: FakeGitHub,
  where: { repo: string; issue: number; login: string },
  view: StatusView,
  expected: { progress: string; final: string },
  dir: string,
): Promise<void> {
  expect(view.completedAt).not.toBeNull();
  const progress = ourComments(gh, where, view.runId, "progress");
  expect(
    progress.map((c) => c.id),
    "exactly one progress comment of this run by the token's user",
  ).toHaveLength(1);
  const body = progress[0]!.body;
  expect(withoutMarker(body)).toBe(expected.progress);
  expectRowsOf(body, view);
  expect(body).toContain("**Parallel execution completed**");
  expect(parseMarker(body)?.seq).toBe(view.sync.seq);

  const final = ourComments(gh, where, view.runId, "final");
  expect(
    final.map((c) => c.id),
    "exactly one final summary",
  ).toHaveLength(1);
  expect(withoutMarker(final[0]!.body)).toBe(expected.final);
  expectRowsOf(final[0]!.body, view);

  expect(view.sync.postedSeq).toBe(view.sync.seq);
  expect(view.sync.finalPosted).toBe(true);
  expect(await queueFiles(dir), "the queue is empty once GitHub is healthy").toEqual([]);
}
