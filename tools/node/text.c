/* SPDX-License-Identifier: MIT */
/* meshrt-node — safe text for messages that quote input (see text.h).
 *
 * The escaping itself is libmeshrt's (mrt_log_sanitize), so the node's
 * messages and the library's log records escape alike. Threading: no state;
 * any thread.
 */
#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <meshrt/meshrt.h>

const char *mn_text_printf(char *out, size_t cap, const char *fmt, ...) {
  char *raw = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&raw, fmt, ap);
  va_end(ap);
  if (n < 0) {
    /* Out of memory: say so rather than send nothing. */
    mrt_log_sanitize(out, cap, "(message lost: out of memory)", 29);
    return out;
  }
  mrt_log_sanitize(out, cap, raw, (size_t)n);
  free(raw);
  return out;
}

const char *mn_text_clean(const char *in, size_t len, char *out, size_t cap) {
  mrt_log_sanitize(out, cap, in, in != NULL ? len : 0);
  return out;
}

json_t *mn_json_text(const char *s) {
  size_t len = s != NULL ? strlen(s) : 0;
  /* Each byte escapes to at most 4; no cut. */
  size_t cap = 4 * len + 4;
  char *buf = malloc(cap);
  if (buf == NULL)
    return NULL;
  size_t n = mrt_log_sanitize(buf, cap, s != NULL ? s : "", len);
  json_t *j = json_stringn(buf, n);
  free(buf);
  return j;
}

bool mn_text_is_clean(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    if (c < 0x20 || c == 0x7F)
      return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n = c >= 0xC2 && c <= 0xDF   ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (n == 0 || i + n > len)
      return false;
    uint32_t v = c & (n == 2 ? 0x1Fu : n == 3 ? 0x0Fu : 0x07u);
    for (size_t k = 1; k < n; k++) {
      if ((p[i + k] & 0xC0) != 0x80)
        return false;
      v = v << 6 | (p[i + k] & 0x3Fu);
    }
    uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (v >= 0x80 && v <= 0x9F))
      return false;
    i += n;
  }
  return true;
}
