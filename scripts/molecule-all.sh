#!/usr/bin/env bash
# Run molecule scenarios (`molecule test -s <name>`), MOLECULE_JOBS at a time.
#
# Why several at once: a scenario spends most of its wall time waiting (apt
# downloads inside the droplets, SSH round trips, services starting), not on
# the CPU, so two or three side by side finish in little more than the time
# of the longest. Scenarios are isolated from each other: containers, networks
# and molecule's ephemeral state are named after the scenario, and no prerun
# installs a shared copy of the collection (.config/molecule/config.yml).
#
# Each scenario's output goes to $MOLECULE_LOG_DIR/<scenario>.log; a failing
# scenario's log tail is printed, then a summary with each wall time.
#   scripts/molecule-all.sh [scenario ...]     (default: every scenario)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

jobs_max=${MOLECULE_JOBS:-2}
log_dir=${MOLECULE_LOG_DIR:-.cache/molecule-logs}
tail_lines=${MOLECULE_TAIL_LINES:-300}
mkdir -p "$log_dir"

if (($# > 0)); then
  scenarios=("$@")
else
  mapfile -t scenarios < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -rn1 basename | sort)
fi
((${#scenarios[@]} > 0)) || { echo "no molecule scenario found" >&2; exit 1; }

declare -A pid_of=() started=() result=()
running=0

finish_one() {
  # Reap whichever scenario ends first.
  local done_pid status s
  wait -n -p done_pid
  status=$?
  for s in "${!pid_of[@]}"; do
    if [[ ${pid_of[$s]} == "$done_pid" ]]; then
      result[$s]="$status $((SECONDS - started[$s]))"
      unset "pid_of[$s]"
      if ((status == 0)); then
        echo "<== $s passed in $((SECONDS - started[$s]))s"
      else
        echo "<== $s FAILED (exit $status) in $((SECONDS - started[$s]))s; last $tail_lines lines of $log_dir/$s.log:"
        tail -n "$tail_lines" "$log_dir/$s.log"
      fi
    fi
  done
  running=$((running - 1))
}

for s in "${scenarios[@]}"; do
  while ((running >= jobs_max)); do finish_one; done
  echo "==> molecule test -s $s (log: $log_dir/$s.log)"
  started[$s]=$SECONDS
  molecule test -s "$s" >"$log_dir/$s.log" 2>&1 &
  pid_of[$s]=$!
  running=$((running + 1))
done
while ((running > 0)); do finish_one; done

failed=0
echo "---- molecule summary ----"
for s in "${scenarios[@]}"; do
  read -r status secs <<<"${result[$s]}"
  if ((status == 0)); then
    printf '  %-14s ok      %4ds\n' "$s" "$secs"
  else
    printf '  %-14s FAILED  %4ds\n' "$s" "$secs"
    failed=1
  fi
done
exit "$failed"
