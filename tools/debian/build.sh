#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds meshrt's Debian packages (libmeshrt0, libmeshrt-dev, meshrt-node)
# from this checkout: copies the tree to a temporary folder, lays
# tools/debian/ out as debian/ there, runs dpkg-buildpackage -us -uc -b and
# lintian (errors fail the build), and leaves the .deb files in OUTDIR.
#
#   tools/debian/build.sh [OUTDIR]      default: build-deb/
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(realpath -m "${1:-$here/build-deb}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/meshrt-0.1.0" "$out"
# The sources only: no build folders, no git metadata.
tar -C "$here" --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$work/meshrt-0.1.0" -xf -
cp -r "$here/tools/debian" "$work/meshrt-0.1.0/debian"
rm -f "$work/meshrt-0.1.0/debian/build.sh"
(cd "$work/meshrt-0.1.0" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
  tail -50 "$work/build.log" >&2
  echo "build.sh: dpkg-buildpackage failed" >&2
  exit 1
}
changes=$(ls "$work"/*.changes)
# Errors fail; warnings are printed for whoever reads the log.
lintian --fail-on error --suppress-tags-from-file /dev/null "$changes" || {
  echo "build.sh: lintian found errors" >&2
  exit 1
}
cp "$work"/*.deb "$out"/
ls "$out"/*.deb
