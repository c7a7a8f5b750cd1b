#!/bin/sh
# SPDX-License-Identifier: MIT
# One style and a licence line everywhere: every C file of the source tree is
# formatted as .clang-format says (clang-format 14, Debian's; other versions
# format some constructs differently, so they skip) and starts with its SPDX
# licence line.
#
#   test-format.sh SOURCE_ROOT
set -eu
root=${1:?usage: test-format.sh SOURCE_ROOT}
cd "$root"
files=$(find actors bus netmon runtime tests tools -name '*.[ch]' -not -path '*/corpus/*' | sort)
[ -n "$files" ] || { echo "test-format: no C files found under $root" >&2; exit 1; }

status=0
for f in $files; do
  if [ "$(head -n 1 "$f")" != "/* SPDX-License-Identifier: MIT */" ]; then
    echo "test-format: $f: first line is not /* SPDX-License-Identifier: MIT */" >&2
    status=1
  fi
done

if ! command -v clang-format >/dev/null 2>&1; then
  echo "test-format: clang-format is not installed (tools/dev.sh deps installs it)" >&2
  exit 1
fi
major=$(clang-format --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
if [ "$major" != 14 ]; then
  echo "test-format: clang-format $major is not 14; style not checked" >&2
  [ $status -eq 0 ] && exit 77
  exit $status
fi
# shellcheck disable=SC2086 # one word per file name (no spaces in the tree)
clang-format --dry-run --Werror --style=file $files || {
  echo "test-format: run clang-format -i on the files above" >&2
  status=1
}
exit $status
