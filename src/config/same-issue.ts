import { UsageError } from "../errors.js";
import type { GitHubTarget, RunState } from "../model/types.js";
import { sameApi } from "./api-url.js";

/**
 * A run posts to one issue for its whole life: the one it had when it first had one. Moving it
 * mid-run would split it (its comment is edited by id, so updates would stay on the old issue while
 * finalize posted on the new one). A run belongs to one repository too, from the time it has one, with
 * or without an issue (with a database store an epic's runs are of one repository, and a role sees the
 * runs of the repositories granted to it). Pure: returns `next` with the run's issue and repository
 * kept, and throws UsageError when an active run is pointed at another issue or repository (task.md
 * edited, --issue or --repo given), or, once it has an issue, at another GitHub (--api-url given). A repository is compared as GitHub compares names, case aside; the
 * run keeps its own spelling. A run without an issue may be given one, and one without a repository
 * may be given one. A finalized run keeps its issue and repository for its leftovers; a new one is for
 * the next init.
 */
export function keepRunIssue(
  state: RunState,
  next: GitHubTarget,
  flags: { issue: boolean; repo: boolean },
): GitHubTarget {
  const was = state.github;
  const issueMoved = was.issueNumber !== null && next.issueNumber !== was.issueNumber;
  const repoMoved =
    was.repo !== null && next.repo !== null && next.repo.toLowerCase() !== was.repo.toLowerCase();
  const kept: GitHubTarget = {
    ...next,
    issueNumber: was.issueNumber ?? next.issueNumber,
    repo: was.repo ?? next.repo,
    // Once a run has an issue, its GitHub is fixed with it (its comment ids are that server's).
    apiUrl: was.issueNumber === null ? next.apiUrl : was.apiUrl,
  };
  // The API URL moves only by a flag (task.md has none; GITHUB_API_URL is read at init only).
  const apiMoved = was.issueNumber !== null && !sameApi(next.apiUrl, was.apiUrl);
  if ((!issueMoved && !repoMoved && !apiMoved) || state.completedAt !== null) return kept;
  const run = `run ${state.runId} (epic ${state.epicId})`;
  if (!issueMoved && !repoMoved) {
    throw new UsageError(
      `--api-url names ${next.apiUrl}, but ${run} posts to ${where(was)} on ${was.apiUrl}: a run stays on one GitHub; give --api-url ${was.apiUrl} (or set GITHUB_API_URL to it), or finalize this run (or init --force) before moving to ${next.apiUrl}`,
    );
  }
  const sources = [
    ...(issueMoved ? [flags.issue ? "--issue" : "task.md github.issue_number"] : []),
    ...(repoMoved ? [flags.repo ? "--repo" : "task.md github.repo"] : []),
  ].join(" and ");
  if (was.issueNumber === null) {
    throw new UsageError(
      `${sources} names ${next.repo}, but ${run} belongs to ${was.repo}: a run stays in one repository; put it back, or finalize this run (or init --force) before moving to ${next.repo}`,
    );
  }
  const to = where({ ...next, repo: next.repo ?? was.repo });
  throw new UsageError(
    `${sources} names ${to}, but ${run} posts to ${where(was)}: a run stays on one issue; put it back, or finalize this run (or init --force) before moving to ${to}`,
  );
}

function where(target: GitHubTarget): string {
  return target.repo ? `${target.repo}#${target.issueNumber}` : `issue #${target.issueNumber}`;
}
