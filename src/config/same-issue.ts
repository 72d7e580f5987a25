import { UsageError } from "../errors.js";
import type { GitHubTarget, RunState } from "../model/types.js";

/**
 * A run posts to one issue for its whole life: the one it had when it first had one. Moving it
 * mid-run would split it (its comment is edited by id, so updates would stay on the old issue while
 * finalize posted on the new one). Pure: returns `next` with the run's issue and repository kept, and
 * throws UsageError when an active run is pointed at another issue (task.md edited, --issue or
 * --repo given). A finalized run keeps its issue for its leftovers; a new number is for the next init.
 */
export function keepRunIssue(
  state: RunState,
  next: GitHubTarget,
  flags: { issue: boolean; repo: boolean },
): GitHubTarget {
  const was = state.github;
  if (was.issueNumber === null) return next; // a run without an issue may be given one
  const issueMoved = next.issueNumber !== was.issueNumber;
  const repoMoved =
    was.repo !== null && next.repo !== null && next.repo.toLowerCase() !== was.repo.toLowerCase();
  if (!issueMoved && !repoMoved) return next;
  if (state.completedAt !== null) return { ...next, issueNumber: was.issueNumber, repo: was.repo };
  const source = issueMoved
    ? flags.issue
      ? "--issue"
      : "task.md github.issue_number"
    : flags.repo
      ? "--repo"
      : "task.md github.repo";
  const to = where({ ...next, repo: next.repo ?? was.repo });
  throw new UsageError(
    `${source} names ${to}, but run ${state.runId} (epic ${state.epicId}) posts to ${where(was)}: a run stays on one issue; put it back, or finalize this run (or init --force) before moving to ${to}`,
  );
}

function where(target: GitHubTarget): string {
  return target.repo ? `${target.repo}#${target.issueNumber}` : `issue #${target.issueNumber}`;
}
