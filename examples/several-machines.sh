#!/usr/bin/env bash
# Agents "on several machines" reporting into one run through a PostgreSQL database: each machine has an
# epic directory and a temp folder of its own and, when this runs as root with unshare available, each of
# its jobs runs in process-id and host-name namespaces of its own, so nothing but the database is shared.
#
#   PARALLEL_PROGRESS_STORE=postgresql://user:password@localhost:5432/progress examples/several-machines.sh
#
# Any PostgreSQL 13 or newer will do; the schema is made on first use. To see the one table on an issue,
# set GITHUB_TOKEN and pass init's options: examples/several-machines.sh --issue 42 --repo owner/name
#
# As in a CI matrix, a job's processes end with the job (the kernel ends a namespace's processes with its
# first one, as a runner ends what a job left running): a background writer lives as long as its job, so
# each agent job ends with `retry`, which writes what the issue still lacks before the job goes (what
# other machines change after it is theirs to write, and the finalize job's).
set -euo pipefail

# Inside a job (this script again, in the job's namespaces): run its command, then end.
if [ "${1:-}" = "--job" ]; then
  shift
  bin="$(cd "$(dirname "$0")" && pwd)/../bin/parallel-progress.cjs"
  cli() { node "$bin" "$@"; }
  # One machine's agents, all at once: domain:files pairs. Each agent reports as it works, then completes.
  agents() {
    local pids=() spec
    for spec in "$@"; do
      (
        domain="${spec%%:*}" total="${spec##*:}"
        for ((done = 1; done <= total; done++)); do
          sleep 0.1 # ... the agent works on a file ...
          cli update "$domain" --status in_progress --files "$done/$total"
        done
        cli complete "$domain" --summary "$domain done on $MACHINE"
      ) &
      pids+=("$!")
    done
    # `wait` on each pid: a bare `wait` would not report an agent that failed.
    local pid
    for pid in "${pids[@]}"; do wait "$pid"; done
    # Exit 3: posts remain, as other machines' agents may still be changing the run; its warning says so,
    # and their writers, or the finalize job, send the rest. Any other failure fails the job.
    cli retry >/dev/null || [ "$?" = 3 ]
  }
  "$@"
  exit
fi

: "${PARALLEL_PROGRESS_STORE:?set PARALLEL_PROGRESS_STORE to a postgres:// URL (see the top of this script)}"
export PARALLEL_PROGRESS_STORE
export PARALLEL_PROGRESS_EPIC="${PARALLEL_PROGRESS_EPIC:-DEMO-MACHINES-$(date +%s)-$$}"
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

# A job on a machine: the machine's folders; namespaces of its own (and its name as the host name) where
# the system lets us make them.
isolate=(bash -c 'exec bash "$@"' job)
if [ "$(id -u)" = 0 ] && unshare --pid --fork --mount-proc --uts true 2>/dev/null; then
  isolate=(unshare --pid --fork --mount-proc --uts bash -c 'hostname "$MACHINE" && exec bash "$@"' job)
fi
job() {
  local machine="$1"
  shift
  mkdir -p "$root/$machine/epic" "$root/$machine/tmp"
  (cd "$root/$machine/epic" && MACHINE="$machine" TMPDIR="$root/$machine/tmp" "${isolate[@]}" "$script" --job "$@")
}

# Machine 1 starts the run (settings given here, such as --issue and --repo, are kept in the run for
# every machine).
job machine-1 cli init --domains api,web,docs,tests "$@" >/dev/null

# Four agents on three machines, all at once.
pids=()
job machine-1 agents api:3 &
pids+=("$!")
job machine-2 agents web:2 docs:2 &
pids+=("$!")
job machine-3 agents tests:3 &
pids+=("$!")
for pid in "${pids[@]}"; do wait "$pid"; done

job machine-3 cli finalize --summary "merged"
job machine-1 cli status
job machine-2 cli history --epic "$PARALLEL_PROGRESS_EPIC"
