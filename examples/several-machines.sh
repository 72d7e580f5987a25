#!/usr/bin/env bash
# Agents "on several machines" reporting into one run through a PostgreSQL database: each machine has an
# epic directory and a temp folder of its own and, when this runs as root with unshare available, its own
# process-id and host-name namespaces, so nothing but the database is shared.
#
#   PARALLEL_PROGRESS_STORE=postgresql://user:password@localhost:5432/progress examples/several-machines.sh
#
# Any PostgreSQL 13 or newer will do; the schema is made on first use. Add GITHUB_TOKEN and
# `--issue N --repo owner/name` to the init line to see the one table on an issue.
set -euo pipefail

: "${PARALLEL_PROGRESS_STORE:?set PARALLEL_PROGRESS_STORE to a postgres:// URL (see the top of this script)}"
export PARALLEL_PROGRESS_STORE
export PARALLEL_PROGRESS_EPIC="${PARALLEL_PROGRESS_EPIC:-DEMO-MACHINES-$(date +%s)-$$}"
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/../bin/parallel-progress.cjs"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

# A machine: its own folders; its own namespaces where the system lets us make them.
isolate=()
if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc --uts true 2>/dev/null; then
  isolate=(unshare --pid --fork --mount-proc --uts)
fi
on_machine() {
  local name="$1"
  shift
  mkdir -p "$root/$name/epic" "$root/$name/tmp"
  (cd "$root/$name/epic" && TMPDIR="$root/$name/tmp" "${isolate[@]}" node "$bin" "$@")
}

# Machine 1 starts the run (settings given here are kept in the run for every machine).
on_machine machine-1 init --domains api,web,docs,tests >/dev/null

agent() {
  local machine="$1" domain="$2" total="$3"
  for ((done = 1; done <= total; done++)); do
    sleep 0.1 # ... the agent works on a file ...
    on_machine "$machine" update "$domain" --status in_progress --files "$done/$total"
  done
  on_machine "$machine" complete "$domain" --summary "$domain done on $machine"
}

# Four agents on three machines, all at once.
agent machine-1 api 3 &
agent machine-2 web 2 &
agent machine-2 docs 2 &
agent machine-3 tests 3 &
wait

on_machine machine-3 finalize --summary "merged"
on_machine machine-1 status
on_machine machine-2 history --epic "$PARALLEL_PROGRESS_EPIC"
