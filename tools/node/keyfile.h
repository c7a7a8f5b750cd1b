/* SPDX-License-Identifier: MIT */
/* meshrt-node — creating the node's key file so that it appears whole or not
 * at all.
 *
 * The secret is written to a temporary file in the key's own directory
 * (mode 0600), flushed to disk (fsync), then linked into place with link(2),
 * which never replaces an existing file, and the directory is synced. A crash
 * at any point leaves either no key file or a complete one (at worst an
 * unused temporary ".NAME.XXXXXX" beside it, mode 0600), never an empty or
 * partial key that would stop the next start. Blocking file I/O: host
 * threads only.
 */
#ifndef MESHRT_TOOLS_KEYFILE_H
#define MESHRT_TOOLS_KEYFILE_H

#include <stddef.h>

#include <meshrt/mesh.h>

/* Creates `path` holding a fresh secret (64 hex digits and a newline) and
 * fills *key. Returns 0; -EEXIST if a file is already there (it is left
 * alone: read it instead); another negative errno with a message in err
 * (errlen bytes) otherwise. */
int mn_keyfile_create(const char *path, mrt_probe_keypair *key, char *err, size_t errlen);

#endif
