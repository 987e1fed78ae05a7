#!/usr/bin/env bash
# Build the release tarball into build/ and list what it ships.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
ansible-galaxy collection build --force --output-path build/
version=$(sed -n 's/^version: *//p' galaxy.yml)
tarball=build/seaworthy-digitalocean-$version.tar.gz
echo "$tarball: $(tar -tzf "$tarball" | wc -l) entries, $(du -h "$tarball" | cut -f1)"
