/* SPDX-License-Identifier: MIT */
/* meshrt — what a link-change event says changed, and where.
 *
 * A link monitor turns raw OS notifications into "interesting" changes and the
 * debouncer folds several of them into one LinkChangeEvent. The flags below
 * say *what* kind of thing changed: each raw change sets one or more bits, and
 * the flags of coalesced raw events are OR-ed. The event also lists the
 * individual changes (which interface, which address, where the default route
 * went), at most MRT_LINK_CHANGE_LIST_MAX of them plus a count of the ones
 * folded in beyond that, so a storm costs bounded memory. `raw_events` counts
 * the raw changes folded in.
 */
#ifndef MESHRT_LINK_CHANGE_H
#define MESHRT_LINK_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include <meshrt/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An interesting interface became more usable: administratively up, or it
 * gained carrier while up. */
#define MRT_LINK_CHANGE_LINK_UP (UINT32_C(1) << 0)
/* An interesting interface became less usable: carrier lost, set down, or
 * removed. */
#define MRT_LINK_CHANGE_LINK_DOWN (UINT32_C(1) << 1)
/* A routable address appeared on an interesting interface. */
#define MRT_LINK_CHANGE_ADDR_ADDED (UINT32_C(1) << 2)
/* A routable address disappeared from an interesting interface. */
#define MRT_LINK_CHANGE_ADDR_REMOVED (UINT32_C(1) << 3)
/* The interface carrying the IPv4 or IPv6 default route changed (including
 * appearing or disappearing). */
#define MRT_LINK_CHANGE_DEFAULT_ROUTE (UINT32_C(1) << 4)
/* Notifications were lost (the kernel reported ENOBUFS) and a fresh dump
 * differed from what the monitor believed; the other bits say how. */
#define MRT_LINK_CHANGE_RESYNC (UINT32_C(1) << 5)

/* Every flag defined above; bits outside it are never set by meshrt. */
#define MRT_LINK_CHANGE_ALL (UINT32_C(0x3f))

/* At most this many individual changes are listed in one event; further ones
 * are only counted (more_changes). */
#define MRT_LINK_CHANGE_LIST_MAX 16

/* Room for an interface name: IFNAMSIZ, 15 characters and a NUL. */
#define MRT_LINK_IFNAME_MAX 16

/* How usable a link is after a LINK_UP / LINK_DOWN change. */
#define MRT_LINK_LEVEL_DOWN 0       /* administratively down (or gone) */
#define MRT_LINK_LEVEL_NO_CARRIER 1 /* up, without carrier */
#define MRT_LINK_LEVEL_UP 2         /* up, with carrier */

/* One individual change. Plain data (no pointers), so it can be copied freely.
 * Names are exactly what the OS reported and may hold any byte but NUL: they
 * are hostile input, so print them only through mrt_link_change_item_str or
 * mrt_link_ifname_str, which escape what is not printable ASCII. */
typedef struct mrt_link_change_item {
  /* Exactly one of LINK_UP, LINK_DOWN, ADDR_ADDED, ADDR_REMOVED and
     * DEFAULT_ROUTE, plus RESYNC when a resync's diff found the change. */
  uint32_t flags;
  int32_t ifindex;                  /* the interface (DEFAULT_ROUTE: the new
                                         one); 0 when none or unknown */
  char ifname[MRT_LINK_IFNAME_MAX]; /* its name, NUL-terminated; "" if none */
  uint8_t family;                   /* AF_INET or AF_INET6 (addresses, default routes); 0 otherwise
                          (an address item with family 0 names no address) */
  uint8_t prefixlen;                /* address items */
  uint8_t level;                    /* link items: MRT_LINK_LEVEL_* after the change */
  uint8_t gone;                     /* LINK_DOWN: the interface vanished (deleted, or no longer
                          watched) */
  uint8_t addr[16];                 /* address items: network byte order, IPv4 in the first 4 */
  int32_t old_ifindex;              /* DEFAULT_ROUTE: the interface it left, 0: none */
  char old_ifname[MRT_LINK_IFNAME_MAX]; /* its name; "" if none */
} mrt_link_change_item;

/* The payload of mrt_msg_link_change (see <meshrt/netmon.h>).
 *
 * Ownership: `changes` is owned by the message. A handler borrows it for the
 * duration of the call (copy what you keep); the message type's drop hook
 * frees it after the handler returns, or when the message is discarded
 * undelivered. Whoever sends one allocates `changes` with malloc (or leaves it
 * NULL); a send that fails leaves it with the sender, as for every message.
 * `{flags, raw_events}` with the rest zero is a valid event that lists
 * nothing. */
typedef struct mrt_link_change {
  uint32_t flags;                /* OR of MRT_LINK_CHANGE_* */
  uint32_t raw_events;           /* raw changes folded into this event, >= 1 */
  uint32_t n_changes;            /* entries in `changes`, <= MRT_LINK_CHANGE_LIST_MAX */
  uint32_t more_changes;         /* further individual changes folded in, not listed */
  mrt_link_change_item *changes; /* n_changes entries, oldest first, or NULL */
} mrt_link_change;

/* Deep-copies `src` into `*dst` (its own `changes` array), for a handler
 * that keeps an event past its call. Returns 0, -EINVAL (NULL argument, or
 * n_changes above MRT_LINK_CHANGE_LIST_MAX) or -ENOMEM (then *dst lists
 * nothing). Release the copy with mrt_link_change_release. Any thread. */
MRT_API int mrt_link_change_copy(mrt_link_change *dst, const mrt_link_change *src);

/* Frees what `ev` owns (its `changes`) and leaves it listing nothing; the
 * message type's drop hook does this. NULL-safe. Any thread. */
MRT_API void mrt_link_change_release(mrt_link_change *ev);

/* Render `flags` as comma-separated names in bit order, e.g.
 * "link-up,addr-added"; 0 renders as "none" and unknown bits as one trailing
 * "0x..." item. The text is truncated to fit `cap` bytes and is always
 * NUL-terminated when cap > 0. Returns `buf`, or "" when buf is NULL or cap is
 * 0. The caller owns `buf`; any thread may call this. */
MRT_API const char *mrt_link_change_flags_str(uint32_t flags, char *buf, size_t cap);

/* Render one change as text, e.g. "wlan0: address 192.0.2.7/24 removed",
 * "eth0: link down", "default route now via eth1 (was eth0)"; a change a
 * resync found ends in " (resync)". Interface names are escaped as by
 * mrt_link_ifname_str, so the text never holds a control character and is
 * always printable ASCII. Truncated to fit `cap`, NUL-terminated when
 * cap > 0; returns `buf`, or "" when buf is NULL or cap is 0 (also for a NULL
 * item). The caller owns `buf`; any thread. */
MRT_API const char *mrt_link_change_item_str(const mrt_link_change_item *item, char *buf,
                                             size_t cap);

/* Render the changes an event lists, joined by "; ", then " (+N more)" for
 * those folded in beyond the list (and for items that did not fit `cap`);
 * "" when the event lists nothing. Same escaping and buffer rules as
 * mrt_link_change_item_str. */
MRT_API const char *mrt_link_change_list_str(const mrt_link_change *ev, char *buf, size_t cap);

/* Escape an interface name for printing or JSON: printable ASCII except
 * backslash is kept, every other byte becomes "\xHH"; at most
 * MRT_LINK_IFNAME_MAX - 1 bytes of `name` are read. An empty name renders as
 * "?". Same buffer rules as above; 64 bytes always suffice. */
MRT_API const char *mrt_link_ifname_str(const char *name, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
