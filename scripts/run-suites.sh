#!/usr/bin/env bash
# Run named suites (make targets; "lint" expands to every lint gate), keep
# going after a failure so one run reports everything, then print a summary
# and exit non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

steps=()
for s in "$@"; do
  case $s in
    lint) steps+=(ruff yamllint ansible-lint sanity changelog-lint role-docs-check) ;;
    *) steps+=("$s") ;;
  esac
done

# `make test` already ran setup; the suites it calls need not repeat it.
export SEAWORTHY_SETUP_DONE=1
declare -a summary=()
failed=0
# "a+b" runs suites a and b side by side (each mostly waits on containers and
# the network, not the CPU); their outputs are kept apart and printed whole,
# one after the other, when both have ended.
run_step() {
  local step=$1
  if [[ $step != *+* ]]; then
    make --no-print-directory "$step"
    return
  fi
  local part log_dir=.cache/suites status=0
  local -a parts pids
  IFS=+ read -ra parts <<<"$step"
  mkdir -p "$log_dir"
  for part in "${parts[@]}"; do
    make --no-print-directory "$part" >"$log_dir/$part.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!parts[@]}"; do
    if wait "${pids[$i]}"; then
      printf -- '-------- %s: ok --------\n' "${parts[$i]}"
    else
      printf -- '-------- %s: FAILED --------\n' "${parts[$i]}"
      status=1
    fi
    cat "$log_dir/${parts[$i]}.log"
  done
  return "$status"
}

for s in "${steps[@]}"; do
  printf '\n======== %s ========\n' "$s"
  start=$SECONDS
  if run_step "$s"; then
    summary+=("$(printf '  %-22s ok      %4ds' "$s" $((SECONDS - start)))")
  else
    summary+=("$(printf '  %-22s FAILED  %4ds' "$s" $((SECONDS - start)))")
    failed=1
  fi
done

printf '\n======== summary ========\n'
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "FAILED: see the first failing suite's output above." >&2
  exit 1
fi
echo "all suites passed"
