/* SPDX-License-Identifier: MIT */
/* Replays fuzz inputs through a target once: each argument is a file or a
 * directory of files (a corpus). The ordinary builds link every fuzz target
 * with this main(), so the committed corpus (seeds and minimised findings)
 * runs as a regression test under plain, ASan+UBSan and valgrind builds
 * alike; clang's libFuzzer brings its own main() instead.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  for (size_t n; buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
    len += n;
    if (len == cap) {
      uint8_t *grown = realloc(buf, cap *= 2);
      if (grown == NULL)
        free(buf);
      buf = grown;
    }
  }
  fclose(f);
  if (buf == NULL)
    return -1;
  /* An exact-size copy, so ASan sees a read past the input's end. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int run_path(const char *path, size_t *count) {
  struct stat st;
  if (stat(path, &st) < 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    (*count)++;
    return run_file(path);
  }
  struct dirent **names;
  int n = scandir(path, &names, NULL, alphasort); /* a stable order */
  if (n < 0)
    return -1;
  int rc = 0;
  for (int i = 0; i < n; i++) {
    if (names[i]->d_name[0] != '.' && rc == 0) {
      char full[4096];
      snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
      rc = run_path(full, count);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  size_t count = 0;
  for (int i = 1; i < argc; i++)
    if (run_path(argv[i], &count) < 0)
      return 1;
  printf("%zu inputs replayed, every property held\n", count);
  return count > 0 ? 0 : 1;
}
