/* SPDX-License-Identifier: MIT */
/* meshrt-node / meshrt-ctl — small helpers both tools share: the default
 * control socket path, socket address text in both directions, hex keys and
 * the monotonic clock. Everything here is reentrant and allocation-free, so
 * any thread may call it. Functions return 0 or a negative errno.
 */
#ifndef MESHRT_TOOLS_UTIL_H
#define MESHRT_TOOLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest textual socket address we print ("[v6%scope]:port" fits). */
#define MN_ADDR_STR_MAX 80

/* The control socket both tools use when not told otherwise:
 * /run/meshrt/control.sock for root, else $XDG_RUNTIME_DIR/meshrt/control.sock,
 * else /tmp/meshrt-UID/control.sock. -ENAMETOOLONG if it does not fit. */
int mn_default_control_path(char *buf, size_t len);

/* "ADDR:PORT", "[V6]:PORT" (port 0 allowed). Returns 0 or -EINVAL. */
int mn_parse_hostport(const char *text, struct sockaddr_storage *out);

/* An IP literal without a port ("" and "*" mean the wildcard: AF_UNSPEC). */
int mn_parse_ip(const char *text, struct sockaddr_storage *out);

/* "1.2.3.4:5", "[::1]:5", or "-" for AF_UNSPEC. Returns buf. */
const char *mn_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);

/* The address without the port. Returns buf. */
const char *mn_ip_str(const struct sockaddr_storage *ss, char *buf, size_t len);

uint16_t mn_addr_port(const struct sockaddr_storage *ss);
void mn_addr_set_port(struct sockaddr_storage *ss, uint16_t port);

/* Lowercase hex of n bytes into buf (2n+1 bytes). Returns buf. */
const char *mn_hex(const uint8_t *bytes, size_t n, char *buf, size_t len);

/* Exactly 2n hex digits (surrounding whitespace allowed) into out. */
int mn_unhex(const char *text, uint8_t *out, size_t n);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mn_now_ns(void);

#endif
