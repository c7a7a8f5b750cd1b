/* SPDX-License-Identifier: MIT */
/* meshrt-node — the log sink: human-readable lines or JSON objects, one per
 * record, on stderr. Installed once at start-up through mrt_log_set_sink, so
 * the library's own records and the tool's go the same way. */
#ifndef MESHRT_TOOLS_LOGSINK_H
#define MESHRT_TOOLS_LOGSINK_H

#include <stdio.h>

#include <meshrt/meshrt.h>

typedef enum mn_log_format {
  MN_LOG_HUMAN = 0,
  MN_LOG_JSON = 1,
} mn_log_format;

/* "human" or "json"; -EINVAL otherwise. */
int mn_log_format_parse(const char *name);
const char *mn_log_format_name(mn_log_format f);

/* Routes meshrt's log records to `out` in format `f` (may be called again to
 * switch formats). Any thread. */
void mn_log_install(mn_log_format f, FILE *out);

/* One record as the sink writes it, without the newline: a human line, or a
 * JSON object (see logsink.c). malloc'd (the caller frees); NULL only out of
 * memory. Any thread. */
char *mn_log_render(mn_log_format f, const mrt_log_record *rec);

/* Routes libevent's own warnings (it writes them to stderr by default) into
 * the log, as component "libevent", at most one line every 10 s with a count
 * of those held back: a condition libevent warns about in a loop must not
 * flood the log. Call once at start-up. */
void mn_log_route_libevent(void);

/* Restores the library's default sink. */
void mn_log_uninstall(void);

/* The component the tool's own records use. */
#define MN_LOG "meshrt-node"

#endif
