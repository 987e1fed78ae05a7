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
for s in "${steps[@]}"; do
  printf '\n======== %s ========\n' "$s"
  start=$SECONDS
  if make --no-print-directory "$s"; then
    summary+=("$(printf '  %-16s ok      %4ds' "$s" $((SECONDS - start)))")
  else
    summary+=("$(printf '  %-16s FAILED  %4ds' "$s" $((SECONDS - start)))")
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
