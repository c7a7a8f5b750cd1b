/* SPDX-License-Identifier: MIT */
/* meshrt — logging.
 *
 * Log lines have a level, a component ("runtime", "direct", "netmon", ...) and a
 * text that reads "what happened key=value key=value". The process-wide sink is
 * the only global mutable state in meshrt: hosts replace it to route meshrt's
 * logs into their own logger. The default sink writes one line per record to
 * stderr. Any thread may log; the sink must be thread-safe.
 */
#ifndef MESHRT_LOG_H
#define MESHRT_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mrt_log_level {
  MRT_LOG_ERROR = 0,
  MRT_LOG_WARN = 1,
  MRT_LOG_INFO = 2,
  MRT_LOG_DEBUG = 3,
  MRT_LOG_TRACE = 4,
} mrt_log_level;

typedef struct mrt_log_record {
  mrt_log_level level;
  uint64_t wall_time_ns; /* CLOCK_REALTIME, for display */
  const char *component;
  const char *text; /* "message key=value ..." (valid during the call):
                          * valid UTF-8 without control characters, at most
                          * 1023 bytes, "..." at the end if it was cut */
} mrt_log_record;

typedef void (*mrt_log_sink_fn)(const mrt_log_record *rec, void *user);

/* Replaces the sink (NULL restores the default stderr sink). Waits for calls
 * to the previous sink in progress, so its user data may be freed once this
 * returns. A sink must not call mrt_log_set_sink itself. Any thread. */
MRT_API void mrt_log_set_sink(mrt_log_sink_fn sink, void *user);

/* Records above this level are discarded before formatting. The default is
 * MRT_LOG_INFO, or the level named by the MESHRT_LOG environment variable
 * (error, warn, info, debug, trace) read on first use. A value outside the
 * enum is ignored. Process-wide; any thread. */
MRT_API void mrt_log_set_level(mrt_log_level level);
/* The level in force (reading MESHRT_LOG on first use, see above). Any
 * thread. */
MRT_API mrt_log_level mrt_log_get_level(void);

/* Parses "error", "warn" (or "warning"), "info", "debug" or "trace", in any
 * case. Returns the level, or -EINVAL for NULL or another name. Any thread. */
MRT_API int mrt_log_level_parse(const char *name);
/* "error", "warn", "info", "debug", "trace"; "?" outside the enum. A static
 * string, never NULL. Any thread. */
MRT_API const char *mrt_log_level_name(mrt_log_level level);

/* Formats and emits one record (dropped when above the level or fmt is NULL;
 * never allocates: the text is cut and sanitized in a stack buffer, see
 * mrt_log_sanitize). `component` is borrowed for the call. Any thread. */
MRT_API void mrt_log(mrt_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* mrt_log with a va_list (the caller still owns `ap` and ends it). Any
 * thread. */
MRT_API void mrt_logv(mrt_log_level level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Copies `len` bytes of `in` (any bytes: NUL, invalid UTF-8) into `out`
 * (capacity `cap`, NUL-terminated when cap > 0) as text that is safe to show
 * on a terminal and to put in JSON: valid UTF-8 without control characters.
 * C0 controls, DEL, C1 controls, the line/paragraph separators and the
 * bidirectional overrides U+202A-U+202E and U+2066-U+2069, and every byte that
 * is not part of a valid UTF-8 character are written as "\xNN" (one escape per
 * byte; backslashes are left alone). If the result does not fit, it is cut on
 * a character (or escape) boundary and ends in "..." (cap >= 4). Returns the
 * length written. mrt_log applies it to every record, whose text is at most
 * 1023 bytes. Reentrant; any thread. */
MRT_API size_t mrt_log_sanitize(char *out, size_t cap, const char *in, size_t len);

#ifdef __cplusplus
}
#endif
#endif
