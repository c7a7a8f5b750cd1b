#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs `systemd-analyze verify` on the systemd unit as meson configured it
# for installation (tools/node/meshrt-node.service in the build directory).
# Exits 77 (skip) when systemd-analyze is not installed.
#
# Usage: test-systemd-unit.sh UNIT INSTALLED_BINARY BUILT_BINARY MAN_DIR
#
# verify checks that every Exec*= program exists and is executable, and the
# unit names the installed path (PREFIX/bin/meshrt-node), which a test run
# from the build tree does not have. Rather than skipping that check, the
# test verifies a copy whose Exec lines point at the binary just built: the
# same program at another path, so the check still proves the command line
# names a real executable. It likewise resolves Documentation=man:... against
# the pages in tools/man (MANPATH), which are not installed either.
# verify exits 0 after some complaints (unknown keys, unparsable values), so
# any output fails the test; a copy with a known mistake must be flagged
# first, so a verify that ignores its input cannot make the test pass.
set -u
unit=${1:?usage: test-systemd-unit.sh UNIT INSTALLED_BINARY BUILT_BINARY MAN_DIR}
installed=${2:?} built=${3:?} mandir=${4:?}

command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze is not installed: skipping"; exit 77; }
[ -x "$built" ] || { echo "no built binary at $built"; exit 1; }
# meson passes the built binary relative to the build directory; systemd
# wants absolute paths.
case $built in /*) ;; *) built=$(pwd)/$built ;; esac

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man1" "$tmp/unit" "$tmp/broken"
cp "$mandir"/*.1 "$tmp/man/man1/"

# The copy keeps the unit's file name: systemd derives the unit name from it.
name=$(basename "$unit")
copy="$tmp/unit/$name"
# '|' cannot occur in the paths meson passes (they are build and install
# directories), so it is a safe sed delimiter.
sed "s|$installed|$built|g" "$unit" >"$copy" || exit 1
grep -q "^ExecStart=$installed " "$unit" || { echo "$unit: ExecStart does not run $installed"; exit 1; }
if grep -q "$installed" "$copy"; then
  echo "$copy: still names $installed"
  exit 1
fi

# verify FILE: prints systemd-analyze's complaints; returns 1 if there were any.
verify() {
  out=$(MANPATH="$tmp/man" SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$1" 2>&1)
  rc=$?
  [ $rc -eq 0 ] && [ -z "$out" ] && return 0
  printf '%s\n(systemd-analyze exit status %d)\n' "$out" "$rc"
  return 1
}

sed 's/^Restart=.*/Restart=sometimes/' "$copy" >"$tmp/broken/$name"
if verify "$tmp/broken/$name" >/dev/null; then
  echo "systemd-analyze verify did not flag a unit with a known mistake"
  exit 1
fi

verify "$copy" || { echo "FAIL: $unit"; exit 1; }
echo "$name verifies clean"
