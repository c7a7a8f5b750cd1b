#!/bin/sh
# SPDX-License-Identifier: MIT
# Lints every man page in the given directory (tools/man/): each must render
# without a single warning, from mandoc -Tlint (-Wwarning) and, where groff is
# installed, from groff -ww -z too (the two catch different mistakes). Any
# output at all fails the test, because both tools report problems but exit 0
# for some of them. Exits 77 (skip) when neither linter is installed.
#
# Before trusting a silent run, the test lints a page with a known mistake (an
# undefined macro, which both linters report) and requires a complaint, so a linter that ignores its input
# cannot make the test pass.
set -u
dir=${1:?usage: test-man-pages.sh MAN_DIR}

have() { command -v "$1" >/dev/null 2>&1; }
have mandoc || have groff || { echo "neither mandoc nor groff is installed: skipping"; exit 77; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# lint FILE: prints each linter's complaints; returns 1 if there were any.
lint() {
  bad=0
  if have mandoc; then
    out=$(mandoc -Tlint -Wwarning "$1" 2>&1) || bad=1
    [ -z "$out" ] || { printf '%s\n' "$out"; bad=1; }
  fi
  if have groff; then
    out=$(groff -man -ww -z "$1" 2>&1) || bad=1
    [ -z "$out" ] || { printf 'groff: %s: %s\n' "$1" "$out"; bad=1; }
  fi
  return $bad
}

printf '.TH BROKEN 1 "2026-12-02"\n.SH NAME\nbroken \\- a page\n.XQ undefined\n' >"$tmp/broken.1"
if lint "$tmp/broken.1" >/dev/null; then
  echo "the linters did not flag a page with a known mistake"
  exit 1
fi

status=0
count=0
for page in "$dir"/*.[1-9]; do
  [ -e "$page" ] || continue
  count=$((count + 1))
  lint "$page" || { echo "FAIL: $page"; status=1; }
done
[ "$count" -gt 0 ] || { echo "no man pages in $dir"; exit 1; }
[ "$status" -eq 0 ] && echo "$count man pages lint clean"
exit $status
