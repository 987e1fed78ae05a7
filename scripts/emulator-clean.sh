#!/usr/bin/env bash
# Remove everything the DigitalOcean emulator's docker backing started
# (EMULATOR_BACKING=docker): whatever carries the label io.seaworthy.owner=emulator.
# An emulator removes its own things when it stops; this is for the ones a
# crash or a kill -9 left behind, and it removes them for every instance.
#
#   scripts/emulator-clean.sh             containers (with their volumes), networks,
#                                         volumes, and images except the cached ones
#   scripts/emulator-clean.sh --all       the cached images too (rebuilt on next use)
#   scripts/emulator-clean.sh --instance ID   only that emulator instance's things
#
# Cached images: those labelled io.seaworthy.cache=keep and still tagged (the
# services image seaworthy/emulator-services, the managed-database images).
# Building them takes minutes; they hold no state. Older builds of them
# (untagged, replaced by a changed recipe) are removed. The droplet base image
# seaworthy/droplet:debian-13 is not the emulator's and is never touched.
# Nothing without the label is touched either (molecule's containers, other tools').
set -euo pipefail

label=io.seaworthy.owner=emulator
all=false
while [ $# -gt 0 ]; do
  case $1 in
    --all) all=true ;;
    --instance)
      [ -n "${2:-}" ] || { echo "usage: $0 [--all] [--instance ID]" >&2; exit 2; }
      label=io.seaworthy.emulator=$2
      shift
      ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "usage: $0 [--all] [--instance ID]" >&2
      exit 2
      ;;
  esac
  shift
done

docker info >/dev/null 2>&1 || { echo "emulator-clean: the Docker engine is not running: nothing to clean"; exit 0; }

count() { wc -w <<<"$1" | tr -d ' '; }

containers=$(docker ps -aq --filter "label=$label")
# shellcheck disable=SC2086 # word lists of ids
[ -z "$containers" ] || docker rm -f -v $containers >/dev/null

networks=$(docker network ls -q --filter "label=$label")
# shellcheck disable=SC2086
[ -z "$networks" ] || docker network rm $networks >/dev/null

volumes=$(docker volume ls -q --filter "label=$label")
# shellcheck disable=SC2086
[ -z "$volumes" ] || docker volume rm -f $volumes >/dev/null

images=""
ids=$(docker images -q --filter "label=$label" | sort -u)
if [ -n "$ids" ]; then
  # shellcheck disable=SC2086
  while read -r id tagged keep; do
    if $all || [ "$keep" != keep ] || [ "$tagged" != tagged ]; then
      images="$images $id"
    fi
  done < <(docker image inspect --format \
    '{{.Id}} {{if .RepoTags}}tagged{{else}}untagged{{end}} {{index .Config.Labels "io.seaworthy.cache"}}' $ids)
fi
images=$(tr ' ' '\n' <<<"$images" | sort -u | xargs)
# shellcheck disable=SC2086
[ -z "$images" ] || docker rmi -f $images >/dev/null

echo "emulator-clean: removed $(count "$containers") container(s), $(count "$networks") network(s)," \
  "$(count "$volumes") volume(s), $(count "$images") image(s) labelled $label$($all || echo '; cached images kept (--all removes them)')"
