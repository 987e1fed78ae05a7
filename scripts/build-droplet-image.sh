#!/usr/bin/env bash
# Build the local Debian 13 (trixie) systemd image that stands in for a
# DigitalOcean droplet in every test (see ../shared/TESTBED.md), and cache it:
# the image carries the hash of its recipe as a label and is rebuilt only when
# that recipe (this script, packages.txt, the rootfs overlay) changes.
# Usage: scripts/build-droplet-image.sh [--force]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

image=${SEAWORTHY_DROPLET_IMAGE:-seaworthy/droplet:debian-13}
recipe=tests/images/droplet
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

recipe_sum=$( (cat "$0"; find "$recipe" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
current=$(docker image inspect "$image" --format '{{index .Config.Labels "io.seaworthy.recipe"}}' 2>/dev/null || true)
if [ "$current" = "$recipe_sum" ] && [ "${1:-}" != --force ]; then
  echo "$image is up to date (recipe $recipe_sum)"
  exit 0
fi

command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
work=$(mktemp -d /var/tmp/seaworthy-rootfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
packages=$(grep -v -e '^#' -e '^$' "$recipe/packages.txt" | paste -sd, -)
echo "building $image (recipe $recipe_sum): debootstrap trixie with $packages, then $(grep -v -e '^#' -e '^$' "$recipe/packages-apt.txt" | paste -sd' ' -)"
start=$SECONDS
if ! debootstrap --variant=minbase --include="$packages" trixie "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  die "debootstrap failed (full log above)"
fi

root=$work/rootfs
extra=$(grep -v -e '^#' -e '^$' "$recipe/packages-apt.txt" | paste -sd' ' -)
cp /etc/resolv.conf "$root/etc/resolv.conf"
# shellcheck disable=SC2086 # a word list of package names
if ! chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $extra" >"$work/apt.log" 2>&1; then
  tail -n 30 "$work/apt.log" >&2
  die "installing $extra in the image failed"
fi
cp -a "$recipe/rootfs/." "$root/"
rm -f "$root/etc/apt/sources.list"
# Per-instance identity is created at boot, not baked into the image: cloud-init
# generates the SSH host keys, droplet-init the machine-id.
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
mkdir -p "$root/var/lib/cloud/seed/nocloud"
rm -rf "$root"/var/lib/cloud/instance "$root"/var/lib/cloud/instances
# Loading kernel modules can never succeed inside a container; masking it makes
# `systemctl is-system-running` report "running" instead of "degraded".
chroot "$root" systemctl mask systemd-modules-load.service >/dev/null 2>&1
chroot "$root" apt-get clean
: >"$root/etc/resolv.conf"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

tar -C "$root" -c . | docker import \
  -c 'CMD ["/usr/local/sbin/droplet-init"]' \
  -c "LABEL io.seaworthy.recipe=$recipe_sum" \
  -c 'LABEL org.opencontainers.image.title="Seaworthy local droplet (Debian 13)"' \
  - "$image" >/dev/null
echo "built $image in $((SECONDS - start)) s ($(docker image inspect "$image" --format '{{.Size}}' | numfmt --to=iec))"
