#!/usr/bin/env bash
# `make demo`: the DigitalOcean emulator with real backing (droplets are systemd
# containers, Spaces is S3, DNS and Pebble ACME), then site.yml on
# inventories/local, then the URL and the curl command that shows the app over
# HTTPS. A second run reuses the running emulator and converges with no change.
# `make demo-clean` (scripts/demo.sh clean) stops the emulator (which removes
# its containers and networks) and deletes .cache/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DEMO=${SEAWORTHY_DEMO_DIR:-$REPO/.cache/demo}
EMU_DIR=$DEMO/emulator
PID_FILE=$DEMO/emulator.pid
LOG=$DEMO/emulator.log
PORT=${DEMO_EMULATOR_PORT:-8765}

running() { [[ -s $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

if [[ ${1:-} == clean ]]; then
  if running; then
    pid=$(cat "$PID_FILE")
    echo "demo-clean: stopping the emulator (pid $pid) and its droplets"
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$DEMO"
  echo "demo-clean: done"
  exit 0
fi

mkdir -p "$EMU_DIR"
if running; then
  echo "demo: reusing the running emulator (pid $(cat "$PID_FILE"); log $LOG)"
else
  echo "demo: starting the emulator with docker backing (first start builds its images: a few minutes)"
  rm -rf "$DEMO/credentials"
  EMULATOR_BACKING=docker EMULATOR_PORT=$PORT EMULATOR_DATA_DIR=$EMU_DIR EMULATOR_RATELIMIT=off \
    nohup python -m tests.emulator >"$LOG" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 900); do
    grep -q '^Backing:' "$LOG" 2>/dev/null && break
    running || { echo "demo: the emulator stopped; its log:" >&2; cat "$LOG" >&2; exit 1; }
    sleep 1
  done
  grep -q '^Backing:' "$LOG" || { echo "demo: the emulator did not start in 15 minutes ($LOG)" >&2; exit 1; }
fi
sed -n '1,8p' "$LOG"

# The demo application image (the stack role's test app), built FROM the local
# droplet image and cached as an archive keyed by its recipe.
recipe=$REPO/tests/images/stack-test
hash=$({ docker image inspect -f '{{.Id}}' seaworthy/droplet:debian-13; cd "$recipe" && find . -type f | sort | xargs sha256sum; } | sha256sum | cut -c1-12)
image=seaworthy/stack-test:$hash
archive=$REPO/.cache/stack/seaworthy_stack-test_$hash.tar
if [[ ! -s $archive ]]; then
  echo "demo: building the demo application image $image"
  mkdir -p "$(dirname "$archive")"
  docker build -q -t "$image" "$recipe" >/dev/null
  docker save -o "$archive.tmp" "$image"
  mv "$archive.tmp" "$archive"
fi

# shellcheck disable=SC1091
source "$EMU_DIR/env"
export SEAWORTHY_EMULATOR_CA=$EMU_DIR/ca.pem
export SEAWORTHY_CREDENTIALS_DIR=$DEMO/credentials
export SEAWORTHY_DEMO_IMAGE=$image SEAWORTHY_DEMO_ARCHIVE=$archive
export ANSIBLE_CONFIG=$REPO/ansible.cfg

ansible-playbook -i inventories/local playbooks/site.yml "$@"

ip=$(curl -fsS -H "Authorization: Bearer $DIGITALOCEAN_TOKEN" \
  "$DIGITALOCEAN_API_URL/v2/droplets?tag_name=env:local&per_page=200" |
  python -c 'import json,sys; d=[x for x in json.load(sys.stdin)["droplets"] if "project:demo" in x["tags"]]; print(next(n["ip_address"] for n in d[0]["networks"]["v4"] if n["type"]=="public"))')
cat <<MSG

The demo is up: https://demo.seaworthy.test/  (droplet $ip; its certificate is from Pebble, the local ACME server)
  curl --cacert $SEAWORTHY_ACME_ROOT --resolve demo.seaworthy.test:443:$ip https://demo.seaworthy.test/
  ssh -i $SEAWORTHY_CREDENTIALS_DIR/id_ed25519 deploy@$ip
Stop and remove everything: make demo-clean
MSG
