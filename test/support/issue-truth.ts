import { expect } from "vitest";
import type { StatusView } from "../../src/model/status-view.js";
import { parseMarker } from "../../src/render/marker.js";
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
