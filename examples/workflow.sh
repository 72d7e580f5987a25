#!/usr/bin/env bash
# A workflow script driving parallel-progress from the shell: three agents run in parallel, each
# reporting through its own short CLI calls, then the run is finalized.
#
#   examples/workflow.sh [epic-dir]
#
# GitHub sync happens when the epic directory's task.md names an issue (github.issue_number) and a
# token is set (GITHUB_TOKEN or GH_TOKEN); otherwise progress is tracked locally only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# The CLI: this clone's (a path with spaces is fine), or PARALLEL_PROGRESS, a command line such as
# "npx parallel-progress" in a project that installs it.
pp() {
  if [ -n "${PARALLEL_PROGRESS:-}" ]; then
    # shellcheck disable=SC2086 # a command line: one word per part
    $PARALLEL_PROGRESS "$@"
  else
    node "$here/../bin/parallel-progress.cjs" "$@"
  fi
}
epic_dir="${1:-$(mktemp -d)}"
mkdir -p "$epic_dir"

# Phase 1B: start the run; one line per agent: domain<TAB>agent-id.
pp init --epic EPIC-007 --domains backend,frontend,tests --dir "$epic_dir" --force

agent() {
  local domain="$1" total="$2"
  pp update "$domain" --status in_progress --files "0/$total" --dir "$epic_dir"
  for ((done = 1; done <= total; done++)); do
    sleep 0.2 # ... the agent works on a file ...
    pp update "$domain" --status in_progress --files "$done/$total" --dir "$epic_dir"
  done
  pp complete "$domain" --summary "$domain done" --dir "$epic_dir"
}

# Phase 1C: the agents run at the same time; the script fails if any of them does (a bare `wait` would
# not say).
pids=()
agent backend 7 &
pids+=("$!")
agent frontend 5 &
pids+=("$!")
agent tests 4 &
pids+=("$!")
for pid in "${pids[@]}"; do wait "$pid"; done

# Phase 2: merge, then finalize (retries anything queued, posts the final summary once).
pp finalize --summary "All parallel worktrees merged successfully." --dir "$epic_dir"
pp status --dir "$epic_dir"
