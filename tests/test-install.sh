#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The install test: what a distribution ships must work for its users.
#
# Installs this build with `meson install --destdir` into a temporary folder
# (no root, no network), then, for each library, compiles a tiny program
# (tests/install/*.c) against the installed pkg-config file as strict C11
# (-std=c11 -Wall -Wextra -Wpedantic -Werror) and runs it, and does the same
# with the installed embedding example (share/doc/meshrt/examples/embed.c).
# The headers a program includes and the libraries it loads must be the
# installed ones (checked from the compiler's dependency list and ldd), so a
# copy installed on the machine cannot stand in for a missing file. Last,
# `readelf -d` checks each library's NEEDED list: libmeshrt may need only
# libevent_core and the C library (libc, libpthread, the dynamic loader,
# which provides thread-local storage), and each layer above only the layers
# below it and its own private dependencies.
#
# The .pc files are copied with their prefix rewritten to the destdir, the
# way a staged install is used before it is packaged. Nothing here depends on
# timing. The build passes everything through the environment:
#   MESHRT_BUILD_ROOT   the build folder
#   MESHRT_PREFIX, MESHRT_LIBDIR, MESHRT_DATADIR   meson's install paths
#   MESHRT_CC           the C compiler command (words separated by spaces)
#   MESHRT_CFLAGS       flags every object of this build needs (sanitizers)
#   MESHRT_SANITIZED    "yes" when the libraries link a sanitizer runtime
#   MESHRT_INSTALL_SRC  tests/install/
#   MESON               the meson command
set -euo pipefail

fail() {
  echo "test-install: FAIL: $*" >&2
  exit 1
}

for v in MESHRT_BUILD_ROOT MESHRT_PREFIX MESHRT_LIBDIR MESHRT_DATADIR MESHRT_CC MESHRT_INSTALL_SRC; do
  [ -n "${!v:-}" ] || fail "$v is not set (run me through meson test)"
done
read -r -a cc <<<"$MESHRT_CC"
read -r -a extra <<<"${MESHRT_CFLAGS:-}"
meson_cmd=${MESON:-meson}

abs() { # a meson install path, absolute
  case $1 in
  /*) echo "$1" ;;
  *) echo "$MESHRT_PREFIX/$1" ;;
  esac
}
libdir=$(abs "$MESHRT_LIBDIR")
datadir=$(abs "$MESHRT_DATADIR")

work=$(mktemp -d "${TMPDIR:-/tmp}/meshrt-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest=$work/dest

"$meson_cmd" install -C "$MESHRT_BUILD_ROOT" --destdir "$dest" --no-rebuild \
  >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  fail "meson install --destdir failed"
}
echo "test-install: installed into $dest"

# The .pc files, with every installed path moved into the destdir.
pcdir=$work/pkgconfig
mkdir -p "$pcdir"
libs=(meshrt meshrt-supervise meshrt-netmon meshrt-mesh meshrt-testing)
for name in "${libs[@]}"; do
  pc=$dest$libdir/pkgconfig/$name.pc
  [ -f "$pc" ] || fail "$name.pc is not installed (looked in $libdir/pkgconfig)"
  sed -e "s|^prefix=.*|prefix=$dest$MESHRT_PREFIX|" \
    -e "s|^\(libdir\|includedir\)=/|\1=$dest/|" "$pc" >"$pcdir/$name.pc"
done
export PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export LD_LIBRARY_PATH=$dest$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

# build_and_run NAME SOURCE PKG [EXTRA FLAGS...]
build_and_run() {
  local name=$1 src=$2 pkg=$3
  shift 3
  local exe=$work/$name
  local -a pkgflags
  read -r -a pkgflags <<<"$(pkg-config --cflags --libs "$pkg")" ||
    fail "pkg-config --cflags --libs $pkg failed"
  echo "test-install: $name: ${cc[*]} -std=c11 -Wall -Wextra -Wpedantic -Werror ${extra[*]} $(basename "$src") ${pkgflags[*]} $*"
  "${cc[@]}" -std=c11 -Wall -Wextra -Wpedantic -Werror "${extra[@]}" -MD -MF "$exe.d" \
    -o "$exe" "$src" "${pkgflags[@]}" "$@" || fail "$name does not compile against $pkg.pc"
  # Every meshrt header it read is an installed one.
  local stray
  stray=$(tr ' \\' '\n\n' <"$exe.d" | grep '/meshrt/' | grep -v "^$dest/" || true)
  [ -z "$stray" ] || fail "$name read headers from outside the install: $stray"
  # Every meshrt library it loads is an installed one.
  stray=$(ldd "$exe" | grep 'libmeshrt' | grep -v "=> $dest/" || true)
  [ -z "$stray" ] || fail "$name loads libraries from outside the install: $stray"
  "$exe" || fail "$name exited with $?"
}

build_and_run install-meshrt "$MESHRT_INSTALL_SRC/meshrt.c" meshrt
build_and_run install-supervise "$MESHRT_INSTALL_SRC/supervise.c" meshrt-supervise
build_and_run install-netmon "$MESHRT_INSTALL_SRC/netmon.c" meshrt-netmon
build_and_run install-mesh "$MESHRT_INSTALL_SRC/mesh.c" meshrt-mesh
build_and_run install-testing "$MESHRT_INSTALL_SRC/testing.c" meshrt-testing
embed=$dest$datadir/doc/meshrt/examples/embed.c
[ -f "$embed" ] || fail "the embedding example is not installed ($datadir/doc/meshrt/examples)"
build_and_run install-embed "$embed" meshrt-mesh -pthread

# NEEDED lists. The C library's own: libc, libpthread (older toolchains),
# the dynamic loader; a sanitized build adds its runtime.
libc_re='libc\.so\..*|libpthread\.so\..*|ld-linux.*\.so\..*|ld64\.so\..*'
[ "${MESHRT_SANITIZED:-no}" = yes ] && libc_re="$libc_re|lib[aut]san\.so\..*|libubsan\.so\..*"
check_needed() { # LIBRARY ALLOWED_REGEX
  local so=$dest$libdir/lib$1.so
  [ -f "$so" ] || fail "lib$1.so is not installed"
  local needed
  needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  echo "test-install: lib$1.so NEEDED: $(echo $needed)"
  local n
  for n in $needed; do
    [[ $n =~ ^($2|$libc_re)$ ]] || fail "lib$1.so needs $n, which its layer may not use"
  done
}
check_needed meshrt 'libevent_core-.*\.so\..*'
check_needed meshrt-supervise 'libmeshrt\.so\..*'
check_needed meshrt-netmon 'libmeshrt\.so\..*|libmnl\.so\..*'
check_needed meshrt-mesh 'libmeshrt(-supervise|-netmon)?\.so\..*|libjansson\.so\..*|libsodium\.so\..*|libz\.so\..*'
check_needed meshrt-testing 'libmeshrt\.so\..*'
echo "test-install: every library builds and runs from the install"
