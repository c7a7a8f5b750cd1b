/* SPDX-License-Identifier: MIT */
/* Fuzz targets: what every target shares.
 *
 * Each target defines LLVMFuzzerTestOneInput (libFuzzer's entry point) and
 * checks properties of what the code under test did with the input, not
 * just that it did not crash: round trips, error messages that are valid
 * UTF-8 without control characters, state invariants after a refused input.
 * A broken property aborts with a message (libFuzzer then saves the input).
 *
 * The same sources build two ways: with clang's libFuzzer (-Dfuzz=true), and
 * with replay.c as main() in every build, which runs the committed corpus
 * (seeds and minimised findings) once as an ordinary regression test.
 */
#ifndef MESHRT_FUZZ_H
#define MESHRT_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                                      \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__, #cond);                  \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* Valid UTF-8 (as jansson checks it: no overlong forms, surrogates, or
 * values past U+10FFFF) without C0 controls, DEL or C1 controls. */
static inline bool fuzz_clean_text(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    if (c < 0x20 || c == 0x7f)
      return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n = c >= 0xc2 && c <= 0xdf   ? 2
               : c >= 0xe0 && c <= 0xef ? 3
               : c >= 0xf0 && c <= 0xf4 ? 4
                                        : 0;
    if (n == 0 || i + n > len)
      return false;
    uint32_t v = c & (n == 2 ? 0x1fu : n == 3 ? 0x0fu : 0x07u);
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      v = v << 6 | (p[i + k] & 0x3fu);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff) || (v >= 0x80 && v <= 0x9f))
      return false;
    i += n;
  }
  return true;
}

#endif
