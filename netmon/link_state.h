/* SPDX-License-Identifier: MIT */
/* meshrt — the state inside a link snapshot, shared by its pieces (private).
 *
 * link_snapshot.c owns this state: the sorted interface array, the address
 * hash table, the default-route list and the "interesting" classification,
 * plus the public lifecycle, resync, comparison and query functions.
 * link_parse.c turns validated rtnetlink messages into changes to that state
 * through the mrt__link_ helpers declared here. Only those two files include
 * this header; everyone else goes through link_snapshot.h.
 *
 * Threading: none, as for the snapshot itself (see link_snapshot.h).
 */
#ifndef MESHRT_NETMON_LINK_STATE_H
#define MESHRT_NETMON_LINK_STATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "change_list.h"
#include "link_snapshot.h"

/* The interface flags a snapshot keeps: the only ones that decide what is
 * interesting, so the others cannot make snapshots compare unequal. */
#define MRT__LINK_KEPT_IFF (IFF_UP | IFF_RUNNING | IFF_LOOPBACK)

struct addr_key {
  uint8_t family;
  uint8_t prefixlen;
  uint8_t addr[16];
};

struct iface {
  int ifindex;
  char name[IFNAMSIZ];
  unsigned flags; /* only MRT__LINK_KEPT_IFF bits */
  bool known;     /* a link message was seen; else a placeholder for addresses */
  bool ignored;
  size_t naddrs;    /* its entries in the address table */
  size_t nv4;       /* of which IPv4 */
  size_t nroutable; /* of which routable by class */
};

/* All addresses of a snapshot live in one open-addressing hash table keyed
 * by (ifindex, family, prefix length, address), so a storm of RTM_NEWADDR /
 * RTM_DELADDR costs O(1) per message however many addresses an interface
 * has. A slot's ifindex is MRT__LINK_SLOT_EMPTY, MRT__LINK_SLOT_DEAD
 * (tombstone) or > 0. */
#define MRT__LINK_SLOT_EMPTY 0
#define MRT__LINK_SLOT_DEAD (-1)

struct addr_entry {
  int ifindex;
  struct addr_key k;
};

struct addr_table {
  struct addr_entry *slots;
  size_t cap;    /* 0 or a power of two */
  size_t used;   /* live entries */
  size_t filled; /* live entries and tombstones */
};

/* One (nexthop of a) unicast default route of the main table. */
struct droute {
  uint8_t family;
  uint8_t gw_len;
  uint8_t gw[16];
  int oif;
  uint32_t metric;
};

struct pattern {
  char text[IFNAMSIZ];
  bool prefix;
};

/* What the kernel told us; swapped whole at the end of a resync. */
struct link_state {
  struct iface *ifaces; /* sorted by ifindex */
  size_t nifaces, cap_ifaces;
  struct droute *routes;
  size_t nroutes, cap_routes;
  struct addr_table addrs;
};

struct mrt__link_snapshot {
  struct link_state st;
  struct pattern *patterns;
  size_t npatterns;
  bool patterns_borrowed; /* a pending snapshot uses its parent's rules */
  mrt__link_stats stats;
  struct mrt__link_snapshot *pending;
  int pending_dumps_done;
  bool pending_inconsistent;
};

struct iface_view {
  int level;     /* 0 when not interesting */
  bool routable; /* has routable addresses and is interesting */
};

/* Where applying a message or diffing reports what changed: the flags
 * always, and the individual changes when `list` is set (NULL: flags only,
 * e.g. for a pending snapshot whose changes nobody reads). */
struct change_sink {
  uint32_t flags;
  mrt__link_changes *list;
};

/* The default-route interfaces of both families, with their names (captured
 * before a message may remove the interface). */
struct default_view {
  int ifindex[2]; /* [0] IPv4, [1] IPv6; 0: none */
  char name[2][IFNAMSIZ];
};

/* ---- interfaces (sorted array) ---------------------------------------- */

/* Interface `ifindex`, or NULL. */
struct iface *mrt__link_iface_find(const mrt__link_snapshot *s, int ifindex);

/* Find or insert (as an unknown placeholder) interface `ifindex`; 0 or
 * -ENOMEM. An insertion invalidates pointers to other interfaces. */
int mrt__link_iface_get_or_add(mrt__link_snapshot *s, int ifindex, struct iface **out);

/* Remove `ifc` (a pointer into s->st.ifaces); its addresses and routes are
 * the caller's business. */
void mrt__link_iface_remove(mrt__link_snapshot *s, struct iface *ifc);

/* ---- classification --------------------------------------------------- */

/* Whether an address is routable by class (see link_snapshot.h). */
bool mrt__link_addr_routable(const struct addr_key *k);

/* Whether `name` matches one of the snapshot's ignore patterns. */
bool mrt__link_name_ignored(const mrt__link_snapshot *s, const char *name);

/* Whether `ifc` (may be NULL) is interesting: known, not loopback, not
 * ignored. */
bool mrt__link_iface_interesting(const struct iface *ifc);

/* What an interface (may be NULL) contributes to the interesting state. */
struct iface_view mrt__link_view_of(const struct iface *ifc);

/* MRT_LINK_CHANGE_* flags for an interface going from view `a` to `b`. */
uint32_t mrt__link_view_change(struct iface_view a, struct iface_view b);

/* ---- reporting changes -------------------------------------------------- */

/* Report interface `ifindex` (named `name`) going from view `a` to `b`: the
 * flags, a link item for a level change (`gone`: it is no longer watched),
 * and an address item for each routable address it gained (found in
 * `after`) or lost (found in `before`). Both snapshots may be the same. */
void mrt__link_note_view(struct change_sink *k, const mrt__link_snapshot *before,
                         const mrt__link_snapshot *after, int ifindex, const char *name,
                         struct iface_view a, struct iface_view b, bool gone);

/* Report one routable address of an interesting interface added or removed
 * (`flag`: MRT_LINK_CHANGE_ADDR_ADDED or _REMOVED). */
void mrt__link_note_addr(struct change_sink *k, int ifindex, const char *name,
                         const struct addr_key *key, uint32_t flag);

/* The default-route interfaces of `s` now. */
void mrt__link_defaults_get(const mrt__link_snapshot *s, struct default_view *out);

/* Report each family whose default-route interface differs. */
void mrt__link_note_defaults(struct change_sink *k, const struct default_view *before,
                             const struct default_view *after);

/* ---- address table ---------------------------------------------------- */

/* Index of the live slot holding (ifindex, k), or SIZE_MAX. */
size_t mrt__link_table_find(const struct addr_table *t, int ifindex, const struct addr_key *k);

/* Insert a key known to be absent; 0 or -ENOMEM (allocation or limit). */
int mrt__link_table_insert(struct addr_table *t, int ifindex, const struct addr_key *k);

/* Remove the live entry at slot `i`. */
void mrt__link_table_remove_at(struct addr_table *t, size_t i);

/* Remove every entry of interface `ifindex`. */
void mrt__link_table_drop_ifindex(struct addr_table *t, int ifindex);

/* ---- default routes --------------------------------------------------- */

/* The default-route interface of `family` under the snapshot's rules, or 0. */
int mrt__link_default_ifindex(const mrt__link_snapshot *s, int family);

/* Index of a route equal to `r`, or -1. */
ssize_t mrt__link_route_index(const mrt__link_snapshot *s, const struct droute *r);

/* Add `r` unless an equal route is present; 0 or -ENOMEM. */
int mrt__link_route_add(mrt__link_snapshot *s, const struct droute *r);

/* Remove the route at index `i`; the order of the others may change. */
void mrt__link_route_remove_at(mrt__link_snapshot *s, size_t i);

/* Drop routes matching every given criterion: family (AF_UNSPEC = any),
 * oif (0 = any), metric (NULL = any). */
void mrt__link_routes_drop(mrt__link_snapshot *s, int family, int oif, const uint32_t *metric);

#endif
