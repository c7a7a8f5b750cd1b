/* SPDX-License-Identifier: MIT */
/* meshrt — link-change events rendered as text, copied and released.
 *
 * The link snapshot produces the flags and the individual changes, but
 * rendering them (for logs, journals and tools) and managing an event's owned
 * list are public API that needs no netlink, so they have their own file.
 * Interface names come from the kernel (or a host) and may hold any byte but
 * NUL, so every name is escaped here before it reaches text: the output is
 * printable ASCII, safe for a terminal, a log line and a JSON string.
 *
 * Threading: any thread; the caller owns `buf`.
 */
#include <meshrt/link_change.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Append ",item" (or "item" first); `used` saturates at cap - 1 so that once
 * the buffer is full, later items are dropped and the text stays terminated. */
static void append_item(char *buf, size_t cap, size_t *used, const char *item) {
  int n = snprintf(buf + *used, cap - *used, "%s%s", *used ? "," : "", item);

  if (n < 0)
    return;
  *used += (size_t)n;
  if (*used >= cap)
    *used = cap - 1;
}

const char *mrt_link_change_flags_str(uint32_t flags, char *buf, size_t cap) {
  static const char *const names[] = {"link-up",      "link-down",     "addr-added",
                                      "addr-removed", "default-route", "resync"};
  uint32_t unknown = flags & ~MRT_LINK_CHANGE_ALL;
  size_t used = 0;

  if (!buf || cap == 0)
    return "";
  buf[0] = '\0';
  if (flags == 0) {
    append_item(buf, cap, &used, "none");
    return buf;
  }
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (flags & (UINT32_C(1) << i))
      append_item(buf, cap, &used, names[i]);
  if (unknown) {
    char hex[16];
    snprintf(hex, sizeof hex, "0x%" PRIx32, unknown);
    append_item(buf, cap, &used, hex);
  }
  return buf;
}

/* ---- names ---------------------------------------------------------------- */

const char *mrt_link_ifname_str(const char *name, char *buf, size_t cap) {
  size_t o = 0;

  if (!buf || cap == 0)
    return "";
  buf[0] = '\0';
  if (!name || name[0] == '\0') {
    snprintf(buf, cap, "?");
    return buf;
  }
  for (size_t i = 0; i < MRT_LINK_IFNAME_MAX - 1 && name[i] != '\0'; i++) {
    unsigned char c = (unsigned char)name[i];
    char esc[5];
    const char *piece = esc;
    size_t len;

    if (c > 0x20 && c < 0x7f && c != '\\') {
      esc[0] = (char)c;
      esc[1] = '\0';
    } else {
      snprintf(esc, sizeof esc, "\\x%02x", c);
    }
    len = strlen(piece);
    if (o + len >= cap)
      break; /* never cut an escape in half */
    memcpy(buf + o, piece, len);
    o += len;
    buf[o] = '\0';
  }
  return buf;
}

/* "NAME" escaped, or "ifindex N" when the name is unknown. */
static const char *iface_text(const char *name, int32_t ifindex, char *buf, size_t cap) {
  if (name[0] == '\0' && ifindex > 0) {
    snprintf(buf, cap, "ifindex %" PRId32, ifindex);
    return buf;
  }
  return mrt_link_ifname_str(name, buf, cap);
}

/* ---- one change ----------------------------------------------------------- */

/* Items are plain data from anywhere: read the names bounded. */
static void bounded_name(char out[MRT_LINK_IFNAME_MAX], const char *in) {
  memcpy(out, in, MRT_LINK_IFNAME_MAX);
  out[MRT_LINK_IFNAME_MAX - 1] = '\0';
}

static void link_text(const mrt_link_change_item *it, const char *ifc, char *buf, size_t cap) {
  const char *what;

  if (it->flags & MRT_LINK_CHANGE_LINK_UP)
    what = it->level == MRT_LINK_LEVEL_NO_CARRIER ? "link up, no carrier" : "link up";
  else if (it->gone)
    what = "link removed";
  else
    what = it->level == MRT_LINK_LEVEL_NO_CARRIER ? "link down (no carrier)" : "link down";
  snprintf(buf, cap, "%s: %s", ifc, what);
}

static void addr_text(const mrt_link_change_item *it, const char *ifc, char *buf, size_t cap) {
  const char *what = (it->flags & MRT_LINK_CHANGE_ADDR_ADDED) ? "added" : "removed";
  char addr[INET6_ADDRSTRLEN];

  if ((it->family != AF_INET && it->family != AF_INET6) ||
      !inet_ntop(it->family, it->addr, addr, sizeof addr)) {
    snprintf(buf, cap, "%s: address %s", ifc, what);
    return;
  }
  snprintf(buf, cap, "%s: address %s/%u %s", ifc, addr, (unsigned)it->prefixlen, what);
}

static void route_text(const mrt_link_change_item *it, char *buf, size_t cap) {
  const char *fam = it->family == AF_INET6 ? "IPv6 default route" : "default route";
  char name[MRT_LINK_IFNAME_MAX], old[MRT_LINK_IFNAME_MAX], a[64], b[64];
  bool now = it->ifindex > 0 || it->ifname[0] != '\0';
  bool was = it->old_ifindex > 0 || it->old_ifname[0] != '\0';

  bounded_name(name, it->ifname);
  bounded_name(old, it->old_ifname);
  iface_text(name, it->ifindex, a, sizeof a);
  iface_text(old, it->old_ifindex, b, sizeof b);
  if (now && was)
    snprintf(buf, cap, "%s now via %s (was %s)", fam, a, b);
  else if (now)
    snprintf(buf, cap, "%s now via %s", fam, a);
  else if (was)
    snprintf(buf, cap, "%s gone (was via %s)", fam, b);
  else
    snprintf(buf, cap, "%s changed", fam);
}

const char *mrt_link_change_item_str(const mrt_link_change_item *it, char *buf, size_t cap) {
  char name[MRT_LINK_IFNAME_MAX], ifc[64], text[192];
  uint32_t f;

  if (!buf || cap == 0)
    return "";
  buf[0] = '\0';
  if (!it)
    return buf;
  f = it->flags;
  bounded_name(name, it->ifname);
  iface_text(name, it->ifindex, ifc, sizeof ifc);
  if (f & (MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_LINK_DOWN))
    link_text(it, ifc, text, sizeof text);
  else if (f & (MRT_LINK_CHANGE_ADDR_ADDED | MRT_LINK_CHANGE_ADDR_REMOVED))
    addr_text(it, ifc, text, sizeof text);
  else if (f & MRT_LINK_CHANGE_DEFAULT_ROUTE)
    route_text(it, text, sizeof text);
  else
    snprintf(text, sizeof text, "%s: changed", ifc);
  snprintf(buf, cap, "%s%s", text, (f & MRT_LINK_CHANGE_RESYNC) ? " (resync)" : "");
  return buf;
}

/* ---- an event's list -------------------------------------------------------- */

const char *mrt_link_change_list_str(const mrt_link_change *ev, char *buf, size_t cap) {
  /* Room kept for the " (+N more)" tail, so it is never cut off. */
  enum { TAIL = 24 };
  uint64_t more;
  size_t used = 0;

  if (!buf || cap == 0)
    return "";
  buf[0] = '\0';
  if (!ev)
    return buf;
  more = ev->more_changes;
  for (uint32_t i = 0; i < ev->n_changes && ev->changes; i++) {
    char item[256];
    size_t len;

    mrt_link_change_item_str(&ev->changes[i], item, sizeof item);
    len = strlen(item) + (used ? 2 : 0);
    if (used + len + TAIL >= cap) {
      more += ev->n_changes - i; /* this one and the rest did not fit */
      break;
    }
    used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", item);
  }
  if (more && used + TAIL < cap)
    snprintf(buf + used, cap - used, "%s(+%" PRIu64 " more)", used ? " " : "", more);
  return buf;
}

int mrt_link_change_copy(mrt_link_change *dst, const mrt_link_change *src) {
  if (!dst || !src || src->n_changes > MRT_LINK_CHANGE_LIST_MAX ||
      (src->n_changes && !src->changes))
    return -EINVAL;
  *dst = *src;
  dst->changes = NULL;
  if (src->n_changes == 0)
    return 0;
  dst->changes = malloc(src->n_changes * sizeof *dst->changes);
  if (!dst->changes) {
    dst->more_changes += dst->n_changes;
    dst->n_changes = 0;
    return -ENOMEM;
  }
  memcpy(dst->changes, src->changes, src->n_changes * sizeof *dst->changes);
  return 0;
}

void mrt_link_change_release(mrt_link_change *ev) {
  if (!ev)
    return;
  free(ev->changes);
  ev->changes = NULL;
  ev->n_changes = 0;
}
