#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lists public declarations (MRT_API) that have no comment of their own.

Every function a public header exports documents ownership, threads and
errors in a comment block directly above its declaration (the block may
span several lines; a trailing comment on the declaration's own line, or a
comment shared with the declaration above, does not count). Public headers
are the `meshrt/*.h` files of the source tree (`<comp>/meshrt/` or
`<comp>/include/meshrt/`); build directories are skipped. Declarations made
by MRT_MESSAGE_DECLARE are documented with their message type and are not
checked.

Usage: check-api-docs.py SOURCE_ROOT   (exit 0: all documented; 1: a list)

Before checking the tree it checks itself on a sample with one documented
and one undocumented declaration, so a checker that stopped finding anything
cannot pass.
"""
import os
import re
import sys

DECL = re.compile(r"^\s*MRT_API\b(.*)")
NAME = re.compile(r"\b(mrt_\w+)\s*(\(|;|$)")


def undocumented(lines):
    """Yields (line number, name) of MRT_API declarations without a comment
    block of their own directly above."""
    for i, line in enumerate(lines):
        m = DECL.match(line)
        if not m:
            continue
        prev = lines[i - 1].rstrip() if i > 0 else ""
        ok = False
        if prev.endswith("*/"):
            j = i - 1
            while j >= 0 and "/*" not in lines[j]:
                j -= 1
            # The block must start on a line of its own, not after code.
            ok = j >= 0 and lines[j].lstrip().startswith("/*")
        elif prev.lstrip().startswith("//"):
            ok = True
        if not ok:
            name = NAME.search(m.group(1))
            yield i + 1, name.group(1) if name else m.group(1).strip()


SAMPLE = """\
/* Documented: returns 0. Any thread. */
MRT_API int mrt_sample_documented(void);
MRT_API int mrt_sample_bare(void);   /* a trailing comment is not enough */
""".split("\n")


def public_headers(root):
    for dirpath, dirnames, filenames in os.walk(root):
        # Skip hidden folders and meson build folders (they hold copies).
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and
                             not os.path.isdir(os.path.join(dirpath, d, "meson-private")))
        if os.path.basename(dirpath) != "meshrt":
            continue
        for f in sorted(filenames):
            if f.endswith(".h"):
                yield os.path.join(dirpath, f)


def main():
    if len(sys.argv) != 2:
        print("usage: check-api-docs.py SOURCE_ROOT", file=sys.stderr)
        return 2
    found = list(undocumented(SAMPLE))
    if found != [(3, "mrt_sample_bare")]:
        print(f"self-check failed: expected [(3, 'mrt_sample_bare')], got {found}")
        return 1
    root = sys.argv[1]
    headers = list(public_headers(root))
    if not headers:
        print(f"no public headers (meshrt/*.h) under {root}")
        return 1
    total = 0
    missing = []
    for path in headers:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        total += sum(1 for line in lines if DECL.match(line))
        for lineno, name in undocumented(lines):
            missing.append(f"{os.path.relpath(path, root)}:{lineno}: {name}")
    for m in missing:
        print(m)
    print(f"{len(missing)} of {total} MRT_API declarations in {len(headers)} headers "
          "have no comment of their own")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
