/* SPDX-License-Identifier: MIT */
/* meshrt-node / meshrt-ctl — shared helpers (see util.h).
 *
 * The default control socket path lives here, and only here, so the node and
 * meshrt-ctl can never disagree about where to meet. Everything is reentrant
 * and touches no global state: any thread may call it.
 */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int mn_default_control_path(char *buf, size_t len) {
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  int n;
  if (geteuid() == 0)
    n = snprintf(buf, len, "/run/meshrt/control.sock");
  else if (xdg != NULL && xdg[0] == '/')
    n = snprintf(buf, len, "%s/meshrt/control.sock", xdg);
  else
    n = snprintf(buf, len, "/tmp/meshrt-%u/control.sock", (unsigned)geteuid());
  struct sockaddr_un probe;
  if (n < 0 || (size_t)n >= len || (size_t)n >= sizeof probe.sun_path)
    return -ENAMETOOLONG;
  return 0;
}

int mn_parse_ip(const char *text, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (text == NULL)
    return -EINVAL;
  if (text[0] == '\0' || strcmp(text, "*") == 0)
    return 0;
  struct sockaddr_in *in = (struct sockaddr_in *)out;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    return 0;
  }
  return -EINVAL;
}

/* Splits "host:port" / "[v6]:port" into its parts, host copied to buf. */
static int split_hostport(const char *text, char *host, size_t hostlen, const char **port) {
  const char *colon;
  const char *h = text;
  size_t hl;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close == NULL || close[1] != ':')
      return -EINVAL;
    h = text + 1;
    hl = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(text, ':');
    if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
      return -EINVAL; /* bare IPv6 needs brackets */
    hl = (size_t)(colon - text);
  }
  if (hl == 0 || hl >= hostlen)
    return -EINVAL;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = colon + 1;
  return 0;
}

int mn_parse_hostport(const char *text, struct sockaddr_storage *out) {
  char host[INET6_ADDRSTRLEN + 1];
  const char *port;
  memset(out, 0, sizeof *out);
  if (text == NULL || split_hostport(text, host, sizeof host, &port) < 0)
    return -EINVAL;
  char *end;
  errno = 0;
  unsigned long p = strtoul(port, &end, 10);
  if (errno != 0 || end == port || *end != '\0' || p > 65535 || !isdigit((unsigned char)*port))
    return -EINVAL;
  if (mn_parse_ip(host, out) < 0 || out->ss_family == AF_UNSPEC)
    return -EINVAL;
  mn_addr_set_port(out, (uint16_t)p);
  return 0;
}

uint16_t mn_addr_port(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET)
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
  if (ss->ss_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
  return 0;
}

void mn_addr_set_port(struct sockaddr_storage *ss, uint16_t port) {
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)ss)->sin_port = htons(port);
  else if (ss->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

const char *mn_ip_str(const struct sockaddr_storage *ss, char *buf, size_t len) {
  if (len == 0)
    return buf;
  buf[0] = '\0';
  const void *a = NULL;
  if (ss->ss_family == AF_INET)
    a = &((const struct sockaddr_in *)ss)->sin_addr;
  else if (ss->ss_family == AF_INET6)
    a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
  if (a == NULL || inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
    snprintf(buf, len, "-");
  return buf;
}

const char *mn_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len) {
  char ip[INET6_ADDRSTRLEN];
  mn_ip_str(ss, ip, sizeof ip);
  if (ss->ss_family == AF_INET)
    snprintf(buf, len, "%s:%u", ip, mn_addr_port(ss));
  else if (ss->ss_family == AF_INET6)
    snprintf(buf, len, "[%s]:%u", ip, mn_addr_port(ss));
  else
    snprintf(buf, len, "-");
  return buf;
}

const char *mn_hex(const uint8_t *bytes, size_t n, char *buf, size_t len) {
  static const char digits[] = "0123456789abcdef";
  if (len == 0)
    return buf;
  size_t i = 0;
  for (; i < n && 2 * i + 2 < len; i++) {
    buf[2 * i] = digits[bytes[i] >> 4];
    buf[2 * i + 1] = digits[bytes[i] & 15];
  }
  buf[2 * i] = '\0';
  return buf;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int mn_unhex(const char *text, uint8_t *out, size_t n) {
  if (text == NULL)
    return -EINVAL;
  while (isspace((unsigned char)*text))
    text++;
  for (size_t i = 0; i < n; i++) {
    int hi = hexval((unsigned char)text[2 * i]);
    int lo = hi < 0 ? -1 : hexval((unsigned char)text[2 * i + 1]);
    if (lo < 0)
      return -EINVAL;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  for (const char *p = text + 2 * n; *p; p++)
    if (!isspace((unsigned char)*p))
      return -EINVAL;
  return 0;
}

uint64_t mn_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
