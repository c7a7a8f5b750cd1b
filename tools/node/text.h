/* SPDX-License-Identifier: MIT */
/* meshrt-node — text that quotes untrusted input, made safe to show.
 *
 * Config errors, control-protocol errors, log records and journal events
 * quote what a file, a socket or the kernel handed us. Everything that leaves
 * the node as text goes through these helpers first: the result is valid
 * UTF-8 without control characters (escaped "\x1b" style), cut on a character
 * boundary with a visible "..." when it is too long (mrt_log_sanitize). So no
 * input can forge log lines, drive a terminal, or make jansson refuse a
 * message (json_pack returns NULL on invalid UTF-8, and the reply or event
 * would lose its fields). Reentrant: any thread.
 */
#ifndef MESHRT_TOOLS_TEXT_H
#define MESHRT_TOOLS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Formats like snprintf into out (capacity cap >= 4), then sanitizes the
 * whole message (see mrt_log_sanitize). Returns out. */
const char *mn_text_printf(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* `in` (len bytes) sanitized into out (cap bytes): a name or value quoted in
 * a message; longer than cap - 1 it ends in "...". Returns out. */
const char *mn_text_clean(const char *in, size_t len, char *out, size_t cap);

/* A JSON string of `s` (NUL-terminated, NULL taken as "") sanitized whole,
 * never cut. NULL only when out of memory. */
json_t *mn_json_text(const char *s);

/* True when s[0..len) is valid UTF-8 (as jansson checks it) with no byte
 * below 0x20 and no DEL: what every message of the node must be. */
bool mn_text_is_clean(const char *s, size_t len);

#endif
