/* SPDX-License-Identifier: MIT */
/* meshrt — logging: the process-wide sink and level.
 *
 * The sink and level are the only global mutable state meshrt has (see
 * runtime/README.md): a host replaces them before or while meshrt runs; any
 * thread may log while another replaces the sink. Records are formatted into
 * a stack buffer; a long record is truncated, never allocated. Every record's
 * text is sanitized before a sink sees it (mrt_log_sanitize): what a log line
 * quotes may come from the network, a file or a control socket, so control
 * characters and invalid UTF-8 are escaped, and a record cut for length is
 * cut on a character boundary and ends in "..." (a JSON sink can always
 * encode it).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

static void stderr_sink(const mrt_log_record *rec, void *user);

/* The sink (function and user data change together) under a reader-writer
 * lock: loggers share it, a replacement waits for calls in progress, so a
 * host may free the old sink's data once mrt_log_set_sink returns. */
static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static mrt_log_sink_fn sink_fn = stderr_sink;
static void *sink_user;
/* -1: not yet read from MESHRT_LOG. */
static _Atomic int current_level = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

const char *mrt_log_level_name(mrt_log_level level) {
  if ((int)level < 0 || (int)level > MRT_LOG_TRACE)
    return "?";
  return level_names[level];
}

int mrt_log_level_parse(const char *name) {
  if (name == NULL)
    return -EINVAL;
  for (int i = 0; i <= MRT_LOG_TRACE; i++)
    if (strcasecmp(name, level_names[i]) == 0)
      return i;
  if (strcasecmp(name, "warning") == 0)
    return MRT_LOG_WARN;
  return -EINVAL;
}

mrt_log_level mrt_log_get_level(void) {
  /* Relaxed: the level is a filter; a briefly stale value is harmless. */
  int lvl = atomic_load_explicit(&current_level, memory_order_relaxed);
  if (lvl < 0) {
    const char *env = getenv("MESHRT_LOG");
    int parsed = env ? mrt_log_level_parse(env) : -EINVAL;
    lvl = parsed >= 0 ? parsed : MRT_LOG_INFO;
    int expected = -1;
    /* Relaxed CAS: only the first reader's parse is kept; all agree anyway. */
    atomic_compare_exchange_strong_explicit(&current_level, &expected, lvl, memory_order_relaxed,
                                            memory_order_relaxed);
    lvl = atomic_load_explicit(&current_level, memory_order_relaxed);
  }
  return (mrt_log_level)lvl;
}

void mrt_log_set_level(mrt_log_level level) {
  if ((int)level < 0 || (int)level > MRT_LOG_TRACE)
    return;
  atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

void mrt_log_set_sink(mrt_log_sink_fn fn, void *user) {
  pthread_rwlock_wrlock(&sink_lock);
  sink_fn = fn != NULL ? fn : stderr_sink;
  sink_user = fn != NULL ? user : NULL;
  pthread_rwlock_unlock(&sink_lock);
}

static void stderr_sink(const mrt_log_record *rec, void *user) {
  (void)user;
  time_t secs = (time_t)(rec->wall_time_ns / MRT_NS_PER_SEC);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  /* One fprintf per record: stdio locks the stream, so lines never interleave. */
  fprintf(stderr, "%s.%03uZ %-5s %s: %s\n", stamp,
          (unsigned)(rec->wall_time_ns % MRT_NS_PER_SEC / MRT_NS_PER_MS),
          mrt_log_level_name(rec->level), rec->component ? rec->component : "-", rec->text);
}

/* ---- sanitizing text ------------------------------------------------------------------ */

/* The length of the valid UTF-8 character at s (n bytes available) with its
 * code point in *cp, or 0 if the bytes there are not one (overlong forms,
 * surrogates and values past U+10FFFF are invalid, as jansson has them).
 * *prefix is set when the n bytes are the valid start of a longer character. */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp, bool *prefix) {
  unsigned char c = s[0];
  size_t len;
  uint32_t v, min;
  *prefix = false;
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1Fu, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0Fu, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  size_t i = 1;
  for (; i < len && i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    v = v << 6 | (s[i] & 0x3Fu);
  }
  if (i < len) {
    *prefix = true;
    return 0;
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

/* Code points shown escaped: C0, DEL, C1, U+2028/U+2029 (line breaks to
 * some readers) and the bidirectional overrides and isolates (they reorder
 * what a terminal shows). */
static bool must_escape(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* mrt_log_sanitize, and for mrt_logv: `cut` says the input was already
 * truncated, so an incomplete character at its end is dropped rather than
 * escaped, and the result ends in "...". */
static size_t sanitize(char *out, size_t cap, const char *in, size_t len, bool cut) {
  static const char hex[] = "0123456789abcdef";
  if (out == NULL || cap == 0)
    return 0;
  out[0] = '\0';
  if (cap < 4 || (in == NULL && len > 0))
    return 0;
  const unsigned char *s = (const unsigned char *)in;
  size_t o = 0, safe = 0; /* safe: the last boundary where "..." still fits */
  for (size_t i = 0; i < len;) {
    uint32_t cp = 0;
    bool prefix;
    size_t n = utf8_char(s + i, len - i, &cp, &prefix);
    if (n == 0 && prefix && cut)
      break; /* half a character where the formatter cut: drop it */
    bool esc = n == 0 || must_escape(cp);
    size_t take = n == 0 ? 1 : n, need = esc ? 4 * take : take;
    if (o + need > cap - 1) {
      cut = true;
      o = safe;
      break;
    }
    for (size_t k = 0; k < take; k++) {
      if (esc) {
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[s[i + k] >> 4];
        out[o++] = hex[s[i + k] & 15];
      } else {
        out[o++] = (char)s[i + k];
      }
    }
    i += take;
    if (o + 3 <= cap - 1)
      safe = o;
  }
  if (cut) {
    if (o + 3 > cap - 1)
      o = safe;
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
  return o;
}

size_t mrt_log_sanitize(char *out, size_t cap, const char *in, size_t len) {
  return sanitize(out, cap, in, len, false);
}

/* ---- records ------------------------------------------------------------------------ */

void mrt_logv(mrt_log_level level, const char *component, const char *fmt, va_list ap) {
  if ((int)level > (int)mrt_log_get_level() || fmt == NULL)
    return;
  char raw[1024], text[1024];
  int n = vsnprintf(raw, sizeof raw, fmt, ap);
  size_t len = n < 0 ? 0 : (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1;
  sanitize(text, sizeof text, raw, len, n < 0 || (size_t)n >= sizeof raw);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  mrt_log_record rec = {
      .level = level,
      .wall_time_ns = (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec,
      .component = component,
      .text = text,
  };
  pthread_rwlock_rdlock(&sink_lock);
  sink_fn(&rec, sink_user);
  pthread_rwlock_unlock(&sink_lock);
}

void mrt_log(mrt_log_level level, const char *component, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mrt_logv(level, component, fmt, ap);
  va_end(ap);
}
