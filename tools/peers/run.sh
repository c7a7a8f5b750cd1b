#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peer comparison: runs meshrt-bench, caf_bench (the same workloads on the C++
# Actor Framework), go_bench (the same workloads on goroutines and channels)
# and erl_bench (the same workloads on Erlang processes) interleaved on this
# machine, at 1 and 2 threads, and prints their medians side by side.
#
#   tools/peers/run.sh [--runs N] [--threads LIST] [--bench NAME[,NAME...]]
#
#   --runs N        runs per benchmark, median reported (default 5)
#   --threads LIST  meshrt executors, CAF scheduler workers, GOMAXPROCS and
#                   Erlang schedulers (erl +S T:T) to compare at (default 1,2)
#   --bench LIST    benchmarks to compare (default pingpong,counting,threadring,fjcreate,ask)
#
# For each benchmark and each thread count it runs meshrt, CAF, Go and Erlang
# one right after the other (one process each; Erlang a fresh VM per run), so
# the numbers compared were taken close together. It installs what is missing
# first (apt-get, as root or through sudo: g++, libcaf-dev, golang-go,
# erlang-base, and meshrt's own build dependencies through tools/dev.sh deps),
# builds meshrt's release build (build-release/), caf_bench, go_bench and
# erl_bench (build-release/peers/), then runs.
# The raw JSON lines of the last run are kept in
# build-release/peers/last-run.jsonl.
# Any failure stops the script with a message naming the step, exit status 1.
set -euo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$self")/../.." && pwd)
cd "$root"

runs=5
threads=1,2
benches=pingpong,counting,threadring,fjcreate,ask

usage() {
  sed -n '2,/^set -e/p' "$self" | grep '^#' | grep -v SPDX-License | sed 's/^# \{0,1\}//'
}

die() {
  echo "run.sh: error: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
  --runs) [ $# -ge 2 ] || die "--runs needs a value"; runs=$2; shift 2 ;;
  --threads) [ $# -ge 2 ] || die "--threads needs a value"; threads=$2; shift 2 ;;
  --bench) [ $# -ge 2 ] || die "--bench needs a value"; benches=$2; shift 2 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive whole number, not '$runs'"
[[ "$threads" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  die "--threads wants positive whole numbers separated by commas, not '$threads'"
for b in ${benches//,/ }; do
  case "$b" in
  pingpong | counting | threadring | fjcreate | ask) ;;
  *) die "'$b' has no peer counterpart (choose from pingpong,counting,threadring,fjcreate,ask)" ;;
  esac
done

build="build-release"
caf_bin=$build/peers/caf_bench
go_bin=$build/peers/go_bench
erl_bin=$build/peers/erl_bench
meshrt_bin=$build/tools/bench/meshrt-bench
results=$build/peers/last-run.jsonl

# step DESCRIPTION COMMAND...: runs COMMAND in a subshell, output to a log; on
# failure shows the log's tail and stops. (errexit does not apply inside, so
# the step functions check each command themselves.)
step() {
  local what=$1
  shift
  local log
  log=$(mktemp)
  echo "run.sh: $what" >&2
  if ! ("$@") >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "$what failed (output above)"
  fi
  rm -f "$log"
}

# ---- dependencies -------------------------------------------------------------

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

install_missing() {
  local missing=()
  for p in g++ libcaf-dev golang-go erlang-base python3; do
    installed "$p" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ ${#as_root[@]} -gt 0 ] && ! command -v sudo >/dev/null; then
    echo "need ${missing[*]}, but this is not root and there is no sudo: install them and rerun" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

command -v dpkg-query >/dev/null || die "this script needs a Debian-based system (dpkg/apt-get)"
step "installing g++, libcaf-dev, golang-go, erlang-base, python3 if missing" install_missing
step "installing meshrt's build dependencies if missing (tools/dev.sh deps)" tools/dev.sh deps

# ---- CAF compile and link flags ---------------------------------------------------
# Debian's libcaf-dev ships no pkg-config or CMake files for 0.17 (check with
# `dpkg -L libcaf-dev`); if a .pc file shows up, use it, otherwise the headers
# are in /usr/include/caf and the library is plain -lcaf_core.

caf_flags() {
  local pc
  pc=$(dpkg -L libcaf-dev 2>/dev/null | grep -m1 '/pkgconfig/.*\.pc$' || true)
  if [ -n "$pc" ] && command -v pkg-config >/dev/null; then
    pkg-config --cflags --libs "$(basename "$pc" .pc)"
    return
  fi
  local hdr
  hdr=$(dpkg -L libcaf-dev | grep -m1 '/caf/all\.hpp$' || true)
  if [ -z "$hdr" ]; then
    echo "libcaf-dev is installed but caf/all.hpp is not among its files" >&2
    return 1
  fi
  local inc
  inc=$(dirname "$(dirname "$hdr")")
  if [ "$inc" = /usr/include ]; then
    echo "-lcaf_core"
  else
    echo "-I$inc -lcaf_core"
  fi
}

caf_version=$(dpkg-query -W -f='${Version}' libcaf-dev)
case "$caf_version" in
0.17.*) ;;
*) echo "run.sh: warning: libcaf-dev is $caf_version; caf_bench is written for CAF 0.17" >&2 ;;
esac

# ---- builds ----------------------------------------------------------------------

build_meshrt() {
  if [ -f "$build/build.ninja" ]; then
    meson configure "$build" --buildtype=release -Dtests=false || return 1
  else
    meson setup "$build" --buildtype=release -Dtests=false || return 1
  fi
  ninja -C "$build" tools/bench/meshrt-bench
}

build_caf() {
  local flags
  flags=$(caf_flags) || return 1
  mkdir -p "$build/peers" || return 1
  # shellcheck disable=SC2086 # flags are words
  g++ -O2 -std=c++17 -Wall -Wextra -o "$caf_bin.tmp" tools/peers/caf_bench.cpp $flags -pthread &&
    mv "$caf_bin.tmp" "$caf_bin"
}

# Debian's golang-go, no module and no download: one file, the standard
# library only, with its build cache inside the build directory.
build_go() {
  mkdir -p "$build/peers" || return 1
  GOCACHE="$root/$build/peers/gocache" GOPATH="$root/$build/peers/gopath" GO111MODULE=off \
    GOFLAGS='' GOTOOLCHAIN=local go build -o "$go_bin.tmp" tools/peers/go_bench.go &&
    mv "$go_bin.tmp" "$go_bin"
}

# Debian's erlang-base: erlc compiles erl_bench.beam, and a small sh wrapper
# gives it go_bench's command line. The wrapper's VM is only the driver (one
# scheduler, no busy wait, so it stays out of the way); it starts a measured
# VM with the asked-for schedulers for each run.
build_erl() {
  mkdir -p "$build/peers" || return 1
  erlc -Werror -o "$build/peers" tools/peers/erl_bench.erl || return 1
  cat >"$erl_bin.tmp" <<'WRAPPER' || return 1
#!/bin/sh
# Written by tools/peers/run.sh: the driver VM of tools/peers/erl_bench.erl.
exec erl +S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none -noinput \
  -pa "$(dirname "$0")" -run erl_bench main -extra "$@"
WRAPPER
  chmod +x "$erl_bin.tmp" && mv "$erl_bin.tmp" "$erl_bin"
}

# "25.2.3": the release's OTP_VERSION file (otp_release alone says "25").
otp_version() {
  erl -noinput -eval '{ok, V} = file:read_file(filename:join([code:root_dir(), "releases",
    erlang:system_info(otp_release), "OTP_VERSION"])), io:format("~s", [string:trim(V)]), halt().'
}
otp=$(otp_version) || die "erl does not start (erlang-base installed?)"

step "building meshrt (release, $build/)" build_meshrt
if [ ! -x "$caf_bin" ] || [ tools/peers/caf_bench.cpp -nt "$caf_bin" ]; then
  step "building caf_bench (g++ -O2, CAF $caf_version)" build_caf
fi
if [ ! -x "$go_bin" ] || [ tools/peers/go_bench.go -nt "$go_bin" ]; then
  step "building go_bench ($(go version | cut -d' ' -f3))" build_go
fi
if [ ! -x "$erl_bin" ] || [ ! -f "$build/peers/erl_bench.beam" ] ||
  [ tools/peers/erl_bench.erl -nt "$build/peers/erl_bench.beam" ] || [ "$self" -nt "$erl_bin" ]; then
  step "building erl_bench (erlc, OTP $otp)" build_erl
fi

# ---- runs ----------------------------------------------------------------------------

load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "run.sh: machine: $(nproc) cores, load average $(load); meshrt $(git describe --always --dirty 2>/dev/null || echo '?'), CAF $caf_version, $(go version | cut -d' ' -f3), OTP $otp" >&2
: >"$results"

run_bench() {
  local label=$1
  shift
  echo "run.sh: running $label: $*" >&2
  local out
  if ! out=$("$@"); then
    printf '%s\n' "$out" >&2
    die "$label failed (command: $*)"
  fi
  printf '%s\n' "$out" | sed "s/^{/{\"tool\":\"$label\",/" >>"$results"
}

# Interleaved: for each benchmark and thread count, the four tools back to
# back, so a change in background load moves them all alike.
for b in ${benches//,/ }; do
  for t in ${threads//,/ }; do
    run_bench meshrt "$meshrt_bin" --json --bench "$b" --runs "$runs" --threads "$t"
    run_bench caf "$caf_bin" --json --bench "$b" --runs "$runs" --threads "$t"
    run_bench go "$go_bin" --json --bench "$b" --runs "$runs" --threads "$t"
    run_bench erlang "$erl_bin" --json --bench "$b" --runs "$runs" --threads "$t"
    if [ "$b" = ask ]; then
      # Extra row: CAF's ask without a request timeout (meshrt's asks always
      # carry a deadline; CAF's timeouts go through its clock thread).
      run_bench caf-ask-no-timeout "$caf_bin" --json --bench ask --runs "$runs" \
        --threads "$t" --ask-timeout-ms 0
    fi
  done
done
echo "run.sh: load average after: $(load)" >&2

# ---- table ------------------------------------------------------------------------------

python3 - "$results" "$benches" "$runs" "$threads" <<'EOF' || die "could not build the table from $results"
import json, sys

path, benches, runs = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
threads = [int(t) for t in sys.argv[4].split(",")]
rows = {}
with open(path) as f:
    for line in f:
        line = line.strip()
        if line:
            r = json.loads(line)
            rows[(r["tool"], r["bench"], int(r["threads"]))] = r

missing = [f"{t}/{b}/{n}" for b in benches for n in threads for t in ("meshrt", "caf", "go", "erlang")
           if (t, b, n) not in rows]
if missing:
    sys.exit(f"run.sh: no result for {', '.join(missing)}")

units = {"pingpong": "round trip", "counting": "message", "threadring": "hop",
         "fjcreate": "actor", "ask": "round trip"}
print(f"\nmedian ns per op, {runs} runs each;"
      " meshrt executors = CAF workers = GOMAXPROCS = Erlang schedulers\n")
hdr = (f"{'benchmark':<22} {'thr':>3} {'per':<11} {'meshrt':>9} {'CAF':>9} {'Go':>9}"
       f" {'Erlang':>9} {'CAF/meshrt':>10} {'Go/meshrt':>9} {'Erl/meshrt':>10}"
       f" {'meshrt/1thr':>11}")
print(hdr)
print("-" * len(hdr))
def ratio(a, b):
    return a / b if b > 0 else float("inf")
def row(name, n, m, c, g, e):
    base = rows.get(("meshrt", m["bench"], threads[0]))
    vs1 = f"{ratio(m['ns_per_op'], base['ns_per_op']):>10.2f}x" if base and n != threads[0] else f"{'':>11}"
    print(f"{name:<22} {n:>3} {units[m['bench']]:<11} {m['ns_per_op']:>9.1f} {c['ns_per_op']:>9.1f}"
          f" {g['ns_per_op']:>9.1f} {e['ns_per_op']:>9.1f}"
          f" {ratio(c['ns_per_op'], m['ns_per_op']):>9.1f}x"
          f" {ratio(g['ns_per_op'], m['ns_per_op']):>8.1f}x"
          f" {ratio(e['ns_per_op'], m['ns_per_op']):>9.1f}x {vs1}")
for b in benches:
    for n in threads:
        m, c, g, e = (rows[(t, b, n)] for t in ("meshrt", "caf", "go", "erlang"))
        row(b, n, m, c, g, e)
        if b == "ask" and ("caf-ask-no-timeout", "ask", n) in rows:
            row("ask (CAF no timeout)", n, m, rows[("caf-ask-no-timeout", "ask", n)], g, e)
print("\nCAF/meshrt, Go/meshrt, Erl/meshrt > 1: meshrt is faster; meshrt/1thr: meshrt at this"
      " thread count against itself at the first. Raw JSON: " + path)
EOF
