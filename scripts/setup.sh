#!/usr/bin/env bash
# One-command, idempotent setup of everything Seaworthy's development and test
# toolchain needs on a Debian machine, as root:
#   1. Debian packages (docker.io, debootstrap, ...), installed only when missing;
#   2. a running Docker engine (systemd when it is PID 1, else dockerd in the background);
#   3. .venv with the pinned Python requirements, rebuilt only when they change,
#      with two small fixes to ansible-core and Mitogen (scripts/patch-dependencies.py);
#   4. the checkout resolvable as the collection seaworthy.digitalocean;
#   5. the local Debian 13 "droplet" image and the emulator's images built from it
#      (services, managed databases), each rebuilt only when its recipe changes.
# A second run does no work beyond checking, and takes seconds.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# `make` puts .venv/bin first on PATH; the venv is built from the system's Python,
# and a rebuild deletes .venv/bin/python3 before it makes a new one.
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$top/.venv/bin" | paste -sd: -)
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

step() { printf '\n==> %s\n' "$*"; }

# --- 1. Debian packages -------------------------------------------------------
# Each entry: a package, and the command whose presence proves it is installed
# (dpkg may not know about tools that came from elsewhere, e.g. a docker CLI in
# /usr/local/bin; the engine itself is what we need from docker.io).
declare -A wanted=(
  [docker.io]=dockerd
  [debootstrap]=debootstrap
  [openssh-client]=ssh
  [git]=git
  [curl]=curl
  [openssl]=openssl
  [make]=make
  [iproute2]=ip
  [iptables]=iptables
  [shellcheck]=shellcheck
)
missing=()
for pkg in "${!wanted[@]}"; do
  command -v "${wanted[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
step "Debian packages"
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all present"
fi

# --- 2. Docker engine ---------------------------------------------------------
step "Docker engine"
ensure_dockerd

# --- 3. Python virtual environment -------------------------------------------
step "Python environment (.venv)"
req_sum=$(cat requirements.txt constraints.txt | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ "$(cat .venv/.requirements.sha256 2>/dev/null)" = "$req_sum" ]; then
  echo "up to date"
else
  # ensurepip run by hand, so that its own error is printed when it fails (venv hides
  # it); once more after a pause when it does (seen once: a transient failure while
  # other processes were busy with the system's Python packages).
  make_venv() { rm -rf .venv && python3 -m venv --without-pip .venv && .venv/bin/python3 -m ensurepip --upgrade --default-pip >/dev/null; }
  make_venv || { echo "creating .venv failed; trying once more" >&2; sleep 5; make_venv; }
  # (this sandbox's pip.conf names index folders that do not exist; hide that noise)
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2)
  echo "$req_sum" > .venv/.requirements.sha256
  echo "installed $(wc -l < constraints.txt) pinned packages"
fi
# Two small fixes to the pinned ansible-core and Mitogen, until they ship them (the script
# says what and why; checked on every run, a no-op once done).
.venv/bin/python scripts/patch-dependencies.py

# --- 4. The checkout as the collection ----------------------------------------
step "Collection link"
link=collections/ansible_collections/seaworthy/digitalocean
mkdir -p "$(dirname "$link")"
if [ "$(readlink "$link" 2>/dev/null)" != "../../.." ]; then
  rm -rf "$link"
  ln -s ../../.. "$link"
fi
echo "$link -> $top"
# Mitogen's strategy plugins (ansible.cfg: strategy_plugins = ./.venv/mitogen-strategy).
mitogen=$(.venv/bin/python -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))')/plugins/strategy
[ "$(readlink .venv/mitogen-strategy 2>/dev/null)" = "$mitogen" ] || ln -sfn "$mitogen" .venv/mitogen-strategy
echo ".venv/mitogen-strategy -> $mitogen"

# --- 5. Local droplet image ---------------------------------------------------
step "Droplet image"
scripts/build-droplet-image.sh

# Built FROM the droplet image, each rebuilt only when its recipe changes: the emulator's
# services (moto S3, DNS, Pebble) and its managed-database servers, which the emulator,
# the molecule scenarios and the backup tool's container test all start.
step "Emulator images"
.venv/bin/python -m tests.emulator.images services postgres mariadb

step "Setup complete"
