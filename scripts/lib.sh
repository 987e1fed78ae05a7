# shellcheck shell=bash
# Shared shell helpers for scripts/*.sh; sourced, never run.

die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Start the Docker engine when it is not answering. CI machines and fresh
# sandboxes boot with nothing running; on a host where systemd is PID 1 the
# service is the right way, elsewhere dockerd runs in the background with its
# log next to the other Seaworthy state.
ensure_dockerd() {
  if docker info >/dev/null 2>&1; then
    echo "running ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    return 0
  fi
  if [ "$(ps -o comm= -p 1 2>/dev/null)" = systemd ]; then
    systemctl start docker || die "systemctl start docker failed"
  else
    command -v dockerd >/dev/null || die "dockerd not installed (apt-get install docker.io)"
    local log=/var/log/seaworthy-dockerd.log
    echo "starting dockerd in the background (log: $log)"
    nohup dockerd >"$log" 2>&1 &
  fi
  local _
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
      echo "running ($(docker version --format '{{.Server.Version}}'))"
      return 0
    fi
    sleep 1
  done
  tail -n 20 /var/log/seaworthy-dockerd.log 2>/dev/null >&2 || true
  die "the Docker engine did not answer within 60 s"
}
