#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# meshrt developer entry point: installs what is missing, builds, and runs.
#
#   tools/dev.sh run   [ARGS...]  build (release) and run the main job with ARGS
#   tools/dev.sh test             build and run the test suite: plain, ASan+UBSan, then
#                                 once more in a build without the network_monitor feature
#   tools/dev.sh tsan [TESTS...]  build with ThreadSanitizer (build-tsan/) and run the
#                                 runtime and bus suites (or the named tests) under it
#   tools/dev.sh valgrind         run the test suite under valgrind
#   tools/dev.sh stress-test [N]  the plain and asan suites N times (default 5)
#                                 under `stress-ng --cpu 4`, then once under
#                                 valgrind; fails if any run failed
#   tools/dev.sh fuzz [SECONDS]   build the fuzz targets (tests/fuzz; clang, libFuzzer with
#                                 ASan+UBSan, in build-fuzz/) and fuzz each for SECONDS (60)
#   tools/dev.sh soak [SECONDS]   a node and a peer in network namespaces while the link
#                                 flaps and addresses and routes churn, then a datagram
#                                 flood; fails on growth, leaks, rebind storms, silence or
#                                 a changed path (root; SECONDS of churn, default 600)
#   tools/dev.sh deps             only install the build and test dependencies
#   tools/dev.sh package [--install-check]
#                                 build the Debian packages into build-deb/
#                                 (and install them, then check them)
#
# It is safe to run on a fresh Debian machine: missing packages are installed
# with apt-get (as root, or through sudo), then meson configures the build
# directories below the repository (build/, build-asan/, build-nonetmon/,
# build-tsan/, build-release/, build-fuzz/).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

# Debian packages: toolchain, build system, and every library meson.build names.
packages=(
  build-essential pkg-config meson ninja-build python3
  libevent-dev libmnl-dev libjansson-dev libsodium-dev zlib1g-dev libcmocka-dev
  iproute2 valgrind
  coturn          # a standard STUN server for test-direct-coturn
  mandoc          # lints the man pages (test man-pages)
  stress-ng       # CPU load for `dev.sh stress-test`
  clang libclang-rt-dev   # the fuzz targets (libFuzzer is in clang's runtime)
  clang-format    # the style check (test format, .clang-format)
)

install_deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# configure DIR [meson options...]: sets up DIR once, reconfigures if it exists.
configure() {
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

# The runtime's and the bus's suites: what ThreadSanitizer checks (the
# threads, queues and hand-overs are there; the layers above run on them).
tsan_tests=(
  tell sched ask timers lifecycle attach shutdown bus testing io log backoff
  supervisor-strategies supervisor-control supervisor-observe reconciler
)

cmd=${1:-test}
[ $# -gt 0 ] && shift

case "$cmd" in
deps)
  install_deps
  ;;
run)
  install_deps
  configure build-release --buildtype=release -Dtests=false
  ninja -C build-release >/dev/null
  exec ./build-release/tools/node/meshrt-node "$@"
  ;;
test)
  install_deps
  configure build -Dwerror=true
  ninja -C build
  status=0
  meson test -C build --print-errorlogs "$@" || status=$?
  configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
  ninja -C build-asan
  meson test -C build-asan --setup asan --print-errorlogs "$@" || status=$?
  # A build without the netlink link monitor (-Dnetwork_monitor=disabled):
  # what it refuses and how it falls back is tested against the real build,
  # and tests that need netlink skip (77) saying why. Plain build only, to
  # keep CI time low.
  configure build-nonetmon -Dwerror=true -Dnetwork_monitor=disabled
  ninja -C build-nonetmon
  meson test -C build-nonetmon --print-errorlogs "$@" || status=$?
  exit $status
  ;;
package)
  install_deps
  packaging=(debhelper lintian dpkg-dev)
  missing=()
  for p in "${packaging[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  rm -rf build-deb
  tools/debian/build.sh build-deb
  if [ "${1:-}" = --install-check ]; then
    tools/debian/install-check.sh build-deb
  fi
  ;;
tsan)
  install_deps
  # -Wno-error=tsan: GCC warns that ThreadSanitizer does not model
  # atomic_thread_fence; the code that uses one is outside these suites.
  configure build-tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false \
    -Dc_args=-Wno-error=tsan
  [ $# -gt 0 ] || set -- "${tsan_tests[@]}"
  targets=()
  for t in "$@"; do targets+=("tests/test-$t"); done
  ninja -C build-tsan "${targets[@]}"
  meson test -C build-tsan --setup tsan --no-rebuild --print-errorlogs "$@"
  ;;
fuzz)
  install_deps
  secs=${1:-60}
  # Warnings are checked by the gcc builds; clang's own extra warnings must
  # not stop the fuzzers.
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false \
      -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  fi
  ninja -C build-fuzz
  rm -f build-fuzz/meson-logs/testlog.json
  status=0
  # One at a time: each fuzzer is one process on one core.
  meson test -C build-fuzz --suite fuzz --num-processes 1 --print-errorlogs \
    "--test-args=-max_total_time=$secs" || status=$?
  python3 tools/fuzz-stats.py build-fuzz/meson-logs/testlog.json || true
  exit $status
  ;;
soak)
  install_deps
  configure build -Dwerror=true
  ninja -C build
  exec python3 tools/soak.py "${1:-600}"
  ;;
valgrind)
  install_deps
  configure build -Dwerror=true
  ninja -C build
  meson test -C build --setup valgrind --print-errorlogs "$@"
  ;;
stress-test)
  # Proves the suite does not flake under load: no test may rely on the
  # machine being fast (see "Tests" in README.md).
  runs=${1:-5}
  case $runs in '' | *[!0-9]* | 0)
    echo "usage: tools/dev.sh stress-test [N]  (N >= 1 runs, default 5)" >&2
    exit 2
    ;;
  esac
  install_deps
  configure build -Dwerror=true
  ninja -C build
  configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
  ninja -C build-asan
  failed=()
  stress_pid=
  stop_stress() {
    if [ -n "$stress_pid" ]; then
      kill -TERM "$stress_pid" 2>/dev/null || true
      wait "$stress_pid" 2>/dev/null || true
      stress_pid=
    fi
  }
  trap stop_stress EXIT
  trap 'stop_stress; exit 130' INT TERM
  stress-ng --cpu 4 --quiet &
  stress_pid=$!
  for i in $(seq 1 "$runs"); do
    echo "stress-test: run $i/$runs, plain, under stress-ng --cpu 4" >&2
    meson test -C build --print-errorlogs || failed+=("plain run $i")
    echo "stress-test: run $i/$runs, asan, under stress-ng --cpu 4" >&2
    meson test -C build-asan --setup asan --print-errorlogs || failed+=("asan run $i")
  done
  stop_stress
  echo "stress-test: valgrind" >&2
  meson test -C build --setup valgrind --print-errorlogs || failed+=("valgrind run")
  if [ ${#failed[@]} -gt 0 ]; then
    echo "stress-test: FAILED: ${failed[*]}" >&2
    exit 1
  fi
  echo "stress-test: all $((2 * runs + 1)) runs passed" >&2
  ;;
*)
  echo "usage: tools/dev.sh run|test|tsan|valgrind|stress-test|fuzz [SECONDS]|soak [SECONDS]|package|deps" >&2
  exit 2
  ;;
esac
