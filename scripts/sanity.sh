#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/<ns>/<name> and
# reads the files git knows. Run it on a copy made from git's file list (tracked
# and new, not ignored) so that local state (.venv, caches) is never scanned.
# The copy is the collection as shipped (galaxy.yml build_ignore drops tests/):
# the pytest suites, the emulator and benchmarks under tests/ are linted by ruff,
# not by ansible-test's pylint profile for plugins. tests/config.yml and
# tests/sanity/ (ansible-test's own inputs) are kept.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

mkdir -p build
work=$(mktemp -d "$top/build/sanity.XXXXXX") # one copy per run: parallel runs do not collide
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/seaworthy/digitalocean
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue # deleted in the work tree, not yet in the index
  case $f in tests/config.yml | tests/sanity/*) ;; tests/*) continue ;; esac
  mkdir -p "$dest/$(dirname "$f")"
  cp -P "$f" "$dest/$f"
done
cd "$dest"
# ansible-test wants a git work tree to list files; give the copy its own.
git init -q && git add -A
# Offline: give ansible-test its pip bootstrap script from what Python carries.
ansible_test_dir=$(python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_version=$(grep -oP "pip='\K[0-9.]+" "$ansible_test_dir/_internal/python_requirements.py")
[ -n "$pip_version" ] || die "cannot tell which pip version ansible-test bootstraps"
mkdir -p ~/.ansible/test/cache
cp "$top/scripts/ansible-test-get-pip.py" ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"
python=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --color no --python "$python" --requirements "$@"
