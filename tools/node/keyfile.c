/* SPDX-License-Identifier: MIT */
/* meshrt-node — the key file, written atomically (see keyfile.h).
 *
 * Why link(2) and not rename(2): rename replaces an existing file, so two
 * nodes creating the same key at once would each believe in their own key
 * while only the last one's survives. link fails with EEXIST instead, and
 * the loser reads the winner's key.
 *
 * Threading: plain blocking code for the main thread.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"

/* "DIR/.NAME.XXXXXX" beside path, and DIR. */
static int temp_name(const char *path, char **tmpl, char **dir) {
  char *a = strdup(path), *b = strdup(path);
  *tmpl = *dir = NULL;
  if (a != NULL && b != NULL && asprintf(tmpl, "%s/.%s.XXXXXX", dirname(a), basename(b)) >= 0) {
    free(b);
    *dir = a; /* dirname() wrote into a */
    return 0;
  }
  *tmpl = NULL;
  free(a);
  free(b);
  return -ENOMEM;
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -errno : -EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* The new link survives a crash only once the directory is on disk too. */
static void sync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int mn_keyfile_create(const char *path, mrt_probe_keypair *key, char *err, size_t errlen) {
  char *tmpl = NULL, *dir = NULL;
  if (temp_name(path, &tmpl, &dir) < 0) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  char hex[2 * MRT_PROBE_SECRET_LEN + 2];
  int rc = 0, fd = mkostemp(tmpl, O_CLOEXEC); /* mode 0600, whatever the umask */
  const char *step = "create";
  if (fd < 0) {
    rc = -errno;
  } else if ((rc = mrt_probe_keypair_generate(key)) == 0) {
    mn_hex(key->sec, sizeof key->sec, hex, sizeof hex - 1);
    strcat(hex, "\n");
    step = "write";
    rc = fchmod(fd, 0600) < 0 ? -errno : write_all(fd, hex, strlen(hex));
    if (rc == 0 && fsync(fd) < 0)
      rc = -errno;
    if (rc == 0) {
      step = "link";
      rc = link(tmpl, path) < 0 ? -errno : 0;
    }
  }
  sodium_memzero(hex, sizeof hex);
  if (fd >= 0) {
    close(fd);
    unlink(tmpl); /* linked or not, the temporary name goes */
  }
  if (rc == 0)
    sync_dir(dir);
  else if (rc != -EEXIST)
    snprintf(err, errlen, "cannot %s %s: %s", step, path, strerror(-rc));
  if (rc < 0)
    sodium_memzero(key, sizeof *key);
  free(tmpl);
  free(dir);
  return rc;
}
