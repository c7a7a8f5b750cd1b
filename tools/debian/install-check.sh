#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages in DEBDIR with apt-get (so their dependencies
# come along) and checks what a user meets first: meshrt-node accepts the
# installed example config, the man page is there, and pkg-config finds each
# library. Root (or sudo) needed.
#
#   tools/debian/install-check.sh DEBDIR
set -euo pipefail
debdir=$(realpath "${1:?usage: install-check.sh DEBDIR}")
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --reinstall \
  "$debdir"/libmeshrt0_*.deb "$debdir"/libmeshrt-dev_*.deb "$debdir"/meshrt-node_*.deb >/dev/null
example=/usr/share/doc/meshrt-node/meshrt-node.example.json
/usr/bin/meshrt-node --check --config "$example"
for pc in meshrt meshrt-supervise meshrt-netmon meshrt-mesh meshrt-testing; do
  pkg-config --exists "$pc"
  echo "install-check: pkg-config --libs $pc: $(pkg-config --libs "$pc")"
done
test -f /usr/share/man/man1/meshrt-node.1.gz
test -f /usr/lib/systemd/system/meshrt-node.service
echo "install-check: packages install and work"
