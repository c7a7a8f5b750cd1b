/* SPDX-License-Identifier: MIT */
/* meshrt — interface-state snapshot: the state model and its public API.
 *
 * The Linux link monitor must raise an event only when something that matters
 * to a rebind changed, and netlink is noisy and lossy (ENOBUFS). So it keeps a
 * snapshot of interfaces, addresses and default routes: link_parse.c applies
 * each received message to it, and a fresh dump diffed against it recovers
 * from lost messages. This file holds that state and the rules on it: the
 * containers (a sorted interface array, an address hash table, a default-route
 * list), the "interesting" classification, ignore rules, resynchronisation,
 * comparison and queries. The rules for "interesting" are documented in
 * link_snapshot.h; the shared structures in link_state.h.
 *
 * Threading: none. A snapshot is owned by the monitor and used from one thread
 * at a time; nothing here blocks, allocates without bound or keeps globals.
 */
#include "link_state.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Capacity limits: far above any real host, low enough that a runaway
 * notification stream cannot exhaust memory. */
#define MAX_IFACES 4096
#define MAX_ADDRS 262144
#define MAX_ROUTES 4096
#define MAX_PATTERNS 256

/* ---- small containers ------------------------------------------------ */

/* Grow `arr` to hold `need` elements; NULL (arr untouched) on failure or
 * when `need` exceeds `limit`. */
static void *reserve(void *arr, size_t *cap, size_t need, size_t elem, size_t limit) {
  size_t ncap;
  void *p;

  if (need <= *cap)
    return arr;
  if (need > limit)
    return NULL;
  ncap = *cap ? *cap * 2 : 4;
  if (ncap > limit)
    ncap = limit;
  if (ncap < need)
    ncap = need;
  p = realloc(arr, ncap * elem);
  if (p)
    *cap = ncap;
  return p;
}

/* Binary search; returns the index of `ifindex` or where it would go. */
static size_t iface_pos(const mrt__link_snapshot *s, int ifindex, bool *found) {
  size_t lo = 0, hi = s->st.nifaces;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->st.ifaces[mid].ifindex < ifindex)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < s->st.nifaces && s->st.ifaces[lo].ifindex == ifindex;
  return lo;
}

struct iface *mrt__link_iface_find(const mrt__link_snapshot *s, int ifindex) {
  bool found;
  size_t i = iface_pos(s, ifindex, &found);
  return found ? &s->st.ifaces[i] : NULL;
}

/* Find or insert (as an unknown placeholder) interface `ifindex`. Pointers
 * to other interfaces are invalidated by an insertion. */
int mrt__link_iface_get_or_add(mrt__link_snapshot *s, int ifindex, struct iface **out) {
  bool found;
  size_t i = iface_pos(s, ifindex, &found);
  struct iface *arr;

  if (!found) {
    arr = reserve(s->st.ifaces, &s->st.cap_ifaces, s->st.nifaces + 1, sizeof *arr, MAX_IFACES);
    if (!arr)
      return -ENOMEM;
    s->st.ifaces = arr;
    memmove(&arr[i + 1], &arr[i], (s->st.nifaces - i) * sizeof *arr);
    memset(&arr[i], 0, sizeof *arr);
    arr[i].ifindex = ifindex;
    s->st.nifaces++;
  }
  *out = &s->st.ifaces[i];
  return 0;
}

void mrt__link_iface_remove(mrt__link_snapshot *s, struct iface *ifc) {
  size_t i = (size_t)(ifc - s->st.ifaces);

  memmove(&s->st.ifaces[i], &s->st.ifaces[i + 1], (s->st.nifaces - i - 1) * sizeof *ifc);
  s->st.nifaces--;
}

/* ---- classification --------------------------------------------------- */

static bool addr_equal(const struct addr_key *a, const struct addr_key *b) {
  size_t alen = a->family == AF_INET ? 4 : 16;
  return a->family == b->family && a->prefixlen == b->prefixlen &&
         memcmp(a->addr, b->addr, alen) == 0;
}

/* Routable by class: what a peer could reach us at, so not unspecified,
 * loopback, link-local or multicast. */
bool mrt__link_addr_routable(const struct addr_key *k) {
  static const uint8_t zero[16];
  const uint8_t *a = k->addr;

  if (k->family == AF_INET) {
    return !(a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) || (a[0] & 0xf0) == 0xe0);
  }
  if (memcmp(a, zero, 16) == 0)
    return false;
  if (memcmp(a, zero, 15) == 0 && a[15] == 1)
    return false;
  return !(a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80));
}

static bool pattern_match(const struct pattern *p, const char *name) {
  if (p->prefix)
    return strncmp(name, p->text, strlen(p->text)) == 0;
  return strcmp(name, p->text) == 0;
}

bool mrt__link_name_ignored(const mrt__link_snapshot *s, const char *name) {
  for (size_t i = 0; i < s->npatterns; i++)
    if (pattern_match(&s->patterns[i], name))
      return true;
  return false;
}

bool mrt__link_iface_interesting(const struct iface *ifc) {
  return ifc && ifc->known && !(ifc->flags & IFF_LOOPBACK) && !ifc->ignored;
}

struct iface_view mrt__link_view_of(const struct iface *ifc) {
  struct iface_view v = {0, false};

  if (!mrt__link_iface_interesting(ifc))
    return v;
  if (ifc->flags & IFF_UP)
    v.level = (ifc->flags & IFF_RUNNING) ? 2 : 1;
  v.routable = ifc->nroutable > 0;
  return v;
}

/* Flags for an interface going from view `a` to view `b`. An interface that
 * is not interesting counts as down with no addresses, so appearing,
 * vanishing and becoming ignored all fall out of the same comparison. */
uint32_t mrt__link_view_change(struct iface_view a, struct iface_view b) {
  uint32_t f = 0;

  if (b.level > a.level)
    f |= MRT_LINK_CHANGE_LINK_UP;
  else if (b.level < a.level)
    f |= MRT_LINK_CHANGE_LINK_DOWN;
  if (a.routable && !b.routable)
    f |= MRT_LINK_CHANGE_ADDR_REMOVED;
  if (b.routable && !a.routable)
    f |= MRT_LINK_CHANGE_ADDR_ADDED;
  return f;
}

/* ---- reporting changes -------------------------------------------------- */

static void note(struct change_sink *k, const mrt_link_change_item *it) {
  k->flags |= it->flags;
  if (k->list)
    mrt__link_changes_add(k->list, it);
}

static void copy_name(char out[MRT_LINK_IFNAME_MAX], const char *name) {
  memset(out, 0, MRT_LINK_IFNAME_MAX);
  if (name)
    memcpy(out, name, strnlen(name, MRT_LINK_IFNAME_MAX - 1));
}

void mrt__link_note_addr(struct change_sink *k, int ifindex, const char *name,
                         const struct addr_key *key, uint32_t flag) {
  mrt_link_change_item it;

  memset(&it, 0, sizeof it);
  it.flags = flag;
  it.ifindex = ifindex;
  copy_name(it.ifname, name);
  it.family = key->family;
  it.prefixlen = key->prefixlen;
  memcpy(it.addr, key->addr, sizeof it.addr);
  note(k, &it);
}

/* Each routable address of `ifindex` in `s`, reported with `flag`. Once the
 * list is full they are only counted, from the interface's counter, so a
 * storm does not scan the table again and again. */
static void note_iface_addrs(struct change_sink *k, const mrt__link_snapshot *s, int ifindex,
                             const char *name, uint32_t flag) {
  const struct iface *ifc = mrt__link_iface_find(s, ifindex);

  k->flags |= flag;
  if (!k->list || !ifc)
    return;
  if (k->list->n == MRT_LINK_CHANGE_LIST_MAX) {
    mrt__link_changes_add_more(k->list, ifc->nroutable);
    return;
  }
  for (size_t i = 0; i < s->st.addrs.cap; i++) {
    const struct addr_entry *e = &s->st.addrs.slots[i];
    if (e->ifindex == ifindex && mrt__link_addr_routable(&e->k))
      mrt__link_note_addr(k, ifindex, name, &e->k, flag);
  }
}

void mrt__link_note_view(struct change_sink *k, const mrt__link_snapshot *before,
                         const mrt__link_snapshot *after, int ifindex, const char *name,
                         struct iface_view a, struct iface_view b, bool gone) {
  uint32_t f = mrt__link_view_change(a, b);
  mrt_link_change_item it;

  if (f & (MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_LINK_DOWN)) {
    memset(&it, 0, sizeof it);
    it.flags = f & (MRT_LINK_CHANGE_LINK_UP | MRT_LINK_CHANGE_LINK_DOWN);
    it.ifindex = ifindex;
    copy_name(it.ifname, name);
    it.level = (uint8_t)b.level;
    it.gone = gone && (f & MRT_LINK_CHANGE_LINK_DOWN);
    note(k, &it);
  }
  if (f & MRT_LINK_CHANGE_ADDR_REMOVED)
    note_iface_addrs(k, before, ifindex, name, MRT_LINK_CHANGE_ADDR_REMOVED);
  if (f & MRT_LINK_CHANGE_ADDR_ADDED)
    note_iface_addrs(k, after, ifindex, name, MRT_LINK_CHANGE_ADDR_ADDED);
}

void mrt__link_defaults_get(const mrt__link_snapshot *s, struct default_view *out) {
  static const int fams[2] = {AF_INET, AF_INET6};

  memset(out, 0, sizeof *out);
  for (int i = 0; i < 2; i++) {
    const struct iface *ifc;

    out->ifindex[i] = mrt__link_default_ifindex(s, fams[i]);
    ifc = out->ifindex[i] ? mrt__link_iface_find(s, out->ifindex[i]) : NULL;
    if (ifc)
      memcpy(out->name[i], ifc->name, IFNAMSIZ);
  }
}

void mrt__link_note_defaults(struct change_sink *k, const struct default_view *before,
                             const struct default_view *after) {
  static const uint8_t fams[2] = {AF_INET, AF_INET6};

  for (int i = 0; i < 2; i++) {
    mrt_link_change_item it;

    if (before->ifindex[i] == after->ifindex[i])
      continue;
    memset(&it, 0, sizeof it);
    it.flags = MRT_LINK_CHANGE_DEFAULT_ROUTE;
    it.family = fams[i];
    it.ifindex = after->ifindex[i];
    copy_name(it.ifname, after->name[i]);
    it.old_ifindex = before->ifindex[i];
    copy_name(it.old_ifname, before->name[i]);
    note(k, &it);
  }
}

/* ---- address table ---------------------------------------------------- */

static uint32_t addr_hash(int ifindex, const struct addr_key *k) {
  /* FNV-1a over the key: cheap, and the keys come from the kernel. */
  uint8_t head[6];
  uint32_t h = 2166136261u, idx = (uint32_t)ifindex;
  size_t alen = k->family == AF_INET ? 4 : 16;

  memcpy(head, &idx, 4);
  head[4] = k->family;
  head[5] = k->prefixlen;
  for (size_t i = 0; i < sizeof head; i++)
    h = (h ^ head[i]) * 16777619u;
  for (size_t i = 0; i < alen; i++)
    h = (h ^ k->addr[i]) * 16777619u;
  return h;
}

/* Index of the live slot holding (ifindex, k), or SIZE_MAX. Probing always
 * ends because the table is never more than 3/4 filled. */
size_t mrt__link_table_find(const struct addr_table *t, int ifindex, const struct addr_key *k) {
  size_t mask = t->cap - 1;

  if (t->cap == 0)
    return SIZE_MAX;
  for (size_t i = addr_hash(ifindex, k) & mask;; i = (i + 1) & mask) {
    const struct addr_entry *e = &t->slots[i];
    if (e->ifindex == MRT__LINK_SLOT_EMPTY)
      return SIZE_MAX;
    if (e->ifindex == ifindex && addr_equal(&e->k, k))
      return i;
  }
}

/* Rebuild into `cap` slots, dropping tombstones. */
static int table_rehash(struct addr_table *t, size_t cap) {
  struct addr_entry *slots = calloc(cap, sizeof *slots);

  if (!slots)
    return -ENOMEM;
  for (size_t i = 0; i < t->cap; i++) {
    const struct addr_entry *e = &t->slots[i];
    size_t j;

    if (e->ifindex <= 0)
      continue;
    j = addr_hash(e->ifindex, &e->k) & (cap - 1);
    while (slots[j].ifindex != MRT__LINK_SLOT_EMPTY)
      j = (j + 1) & (cap - 1);
    slots[j] = *e;
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  t->filled = t->used;
  return 0;
}

/* Insert a key known to be absent. */
int mrt__link_table_insert(struct addr_table *t, int ifindex, const struct addr_key *k) {
  size_t i, mask;

  if (t->used >= MAX_ADDRS)
    return -ENOMEM;
  /* Past 3/4 filled, rebuild at load <= 1/2; when tombstones from a delete
     * storm are what fills it, that is a rebuild at the same size. */
  if ((t->filled + 1) * 4 > t->cap * 3) {
    size_t cap = 16;
    int rc;

    while (cap < (t->used + 1) * 2)
      cap *= 2;
    rc = table_rehash(t, cap);
    if (rc < 0)
      return rc;
  }
  mask = t->cap - 1;
  for (i = addr_hash(ifindex, k) & mask; t->slots[i].ifindex > 0; i = (i + 1) & mask)
    ;
  if (t->slots[i].ifindex == MRT__LINK_SLOT_EMPTY)
    t->filled++;
  t->slots[i].ifindex = ifindex;
  t->slots[i].k = *k;
  t->used++;
  return 0;
}

void mrt__link_table_remove_at(struct addr_table *t, size_t i) {
  t->slots[i].ifindex = MRT__LINK_SLOT_DEAD;
  t->used--;
}

void mrt__link_table_drop_ifindex(struct addr_table *t, int ifindex) {
  for (size_t i = 0; i < t->cap; i++)
    if (t->slots[i].ifindex == ifindex)
      mrt__link_table_remove_at(t, i);
}

/* ---- default routes --------------------------------------------------- */

int mrt__link_default_ifindex(const mrt__link_snapshot *s, int family) {
  const struct droute *best = NULL;

  for (size_t i = 0; i < s->st.nroutes; i++) {
    const struct droute *r = &s->st.routes[i];
    const struct iface *ifc;

    if (r->family != family)
      continue;
    ifc = mrt__link_iface_find(s, r->oif);
    if (!mrt__link_iface_interesting(ifc) || !(ifc->flags & IFF_UP))
      continue;
    if (!best || r->metric < best->metric || (r->metric == best->metric && r->oif < best->oif))
      best = r;
  }
  return best ? best->oif : 0;
}

static bool route_equal(const struct droute *a, const struct droute *b) {
  return a->family == b->family && a->oif == b->oif && a->metric == b->metric &&
         a->gw_len == b->gw_len && memcmp(a->gw, b->gw, a->gw_len) == 0;
}

ssize_t mrt__link_route_index(const mrt__link_snapshot *s, const struct droute *r) {
  for (size_t i = 0; i < s->st.nroutes; i++)
    if (route_equal(&s->st.routes[i], r))
      return (ssize_t)i;
  return -1;
}

int mrt__link_route_add(mrt__link_snapshot *s, const struct droute *r) {
  struct droute *arr;

  if (mrt__link_route_index(s, r) >= 0)
    return 0;
  arr = reserve(s->st.routes, &s->st.cap_routes, s->st.nroutes + 1, sizeof *arr, MAX_ROUTES);
  if (!arr)
    return -ENOMEM;
  s->st.routes = arr;
  arr[s->st.nroutes++] = *r;
  return 0;
}

void mrt__link_route_remove_at(mrt__link_snapshot *s, size_t i) {
  s->st.routes[i] = s->st.routes[--s->st.nroutes];
}

/* Drop routes matching every given criterion: family (AF_UNSPEC = any),
 * oif (0 = any), metric (NULL = any). */
void mrt__link_routes_drop(mrt__link_snapshot *s, int family, int oif, const uint32_t *metric) {
  size_t i = 0;

  while (i < s->st.nroutes) {
    const struct droute *r = &s->st.routes[i];
    if ((family == AF_UNSPEC || r->family == family) && (oif == 0 || r->oif == oif) &&
        (!metric || r->metric == *metric))
      mrt__link_route_remove_at(s, i);
    else
      i++;
  }
}

/* ---- lifecycle and rules ---------------------------------------------- */

int mrt__link_snapshot_new(mrt__link_snapshot **out) {
  if (!out)
    return -EINVAL;
  *out = calloc(1, sizeof **out);
  return *out ? 0 : -ENOMEM;
}

static void free_state(struct link_state *st) {
  free(st->ifaces);
  free(st->routes);
  free(st->addrs.slots);
}

void mrt__link_snapshot_free(mrt__link_snapshot *snap) {
  if (!snap)
    return;
  mrt__link_snapshot_abort_resync(snap);
  free_state(&snap->st);
  if (!snap->patterns_borrowed)
    free(snap->patterns);
  free(snap);
}

static int pattern_parse(const char *text, struct pattern *out) {
  size_t n, body;
  const char *star;

  if (!text)
    return -EINVAL;
  n = strnlen(text, IFNAMSIZ + 1);
  star = memchr(text, '*', n);
  if (star && (size_t)(star - text) != n - 1)
    return -EINVAL; /* '*' only as the final character */
  body = star ? n - 1 : n;
  if (body >= IFNAMSIZ || (!star && body == 0))
    return -EINVAL;
  memset(out, 0, sizeof *out);
  memcpy(out->text, text, body);
  out->prefix = star != NULL;
  return 0;
}

/* Re-evaluate every interface's ignored flag under the current rules. */
static uint32_t reclassify(mrt__link_snapshot *s) {
  int d4 = mrt__link_default_ifindex(s, AF_INET);
  int d6 = mrt__link_default_ifindex(s, AF_INET6);
  uint32_t f = 0;

  for (size_t i = 0; i < s->st.nifaces; i++) {
    struct iface *ifc = &s->st.ifaces[i];
    struct iface_view before = mrt__link_view_of(ifc);

    ifc->ignored = ifc->known && mrt__link_name_ignored(s, ifc->name);
    f |= mrt__link_view_change(before, mrt__link_view_of(ifc));
  }
  if (mrt__link_default_ifindex(s, AF_INET) != d4 || mrt__link_default_ifindex(s, AF_INET6) != d6)
    f |= MRT_LINK_CHANGE_DEFAULT_ROUTE;
  return f;
}

int mrt__link_snapshot_set_ignored(mrt__link_snapshot *snap, const char *const *patterns,
                                   size_t npatterns, uint32_t *flags_out) {
  struct pattern *np = NULL;
  uint32_t f;

  if (!snap || snap->patterns_borrowed || (npatterns && !patterns) || npatterns > MAX_PATTERNS)
    return -EINVAL;
  if (npatterns) {
    np = calloc(npatterns, sizeof *np);
    if (!np)
      return -ENOMEM;
  }
  for (size_t i = 0; i < npatterns; i++) {
    if (pattern_parse(patterns[i], &np[i]) < 0) {
      free(np);
      return -EINVAL;
    }
  }
  free(snap->patterns);
  snap->patterns = np;
  snap->npatterns = npatterns;
  f = reclassify(snap);
  if (snap->pending) {
    snap->pending->patterns = np;
    snap->pending->npatterns = npatterns;
    reclassify(snap->pending);
  }
  if (flags_out)
    *flags_out |= f;
  return 0;
}

/* ---- resynchronisation ------------------------------------------------ */

int mrt__link_snapshot_begin_resync(mrt__link_snapshot *snap) {
  mrt__link_snapshot *p;
  int rc;

  if (!snap || snap->patterns_borrowed)
    return -EINVAL;
  mrt__link_snapshot_abort_resync(snap);
  rc = mrt__link_snapshot_new(&p);
  if (rc < 0)
    return rc;
  /* The pending snapshot borrows the rules so both judge "ignored" alike. */
  p->patterns = snap->patterns;
  p->npatterns = snap->npatterns;
  p->patterns_borrowed = true;
  snap->pending = p;
  snap->pending_dumps_done = 0;
  snap->pending_inconsistent = false;
  return 0;
}

bool mrt__link_snapshot_resyncing(const mrt__link_snapshot *snap) {
  return snap && snap->pending;
}

int mrt__link_snapshot_resync_dumps_done(const mrt__link_snapshot *snap) {
  if (!snap || !snap->pending)
    return -EINVAL;
  return snap->pending_dumps_done;
}

void mrt__link_snapshot_abort_resync(mrt__link_snapshot *snap) {
  if (!snap || !snap->pending)
    return;
  mrt__link_snapshot_free(snap->pending);
  snap->pending = NULL;
}

int mrt__link_snapshot_finish_resync(mrt__link_snapshot *snap, uint32_t *flags_out,
                                     mrt__link_changes *changes_out) {
  mrt__link_snapshot *p;
  struct link_state old;
  bool inconsistent;
  uint32_t f = 0;

  if (!snap || !snap->pending)
    return -EINVAL;
  p = snap->pending;
  if (changes_out) {
    /* Diff into a list of its own, so only its items get marked. */
    mrt__link_changes found = {0};
    mrt__link_snapshot_diff(snap, p, &f, &found);
    if (f)
      mrt__link_changes_mark(&found, MRT_LINK_CHANGE_RESYNC);
    mrt__link_changes_merge(changes_out, &found);
    if (f)
      mrt__link_changes_add_flags(changes_out, f | MRT_LINK_CHANGE_RESYNC);
  } else {
    mrt__link_snapshot_diff(snap, p, &f, NULL);
  }
  if (f)
    f |= MRT_LINK_CHANGE_RESYNC;
  /* Swap only the state; rules and counters stay with `snap`, and the old
     * state is freed with `p`. */
  old = snap->st;
  snap->st = p->st;
  p->st = old;
  inconsistent = snap->pending_inconsistent;
  mrt__link_snapshot_abort_resync(snap);
  if (flags_out)
    *flags_out = f;
  return inconsistent ? MRT__LINK_RESYNC_INCONSISTENT : 0;
}

/* ---- comparison ------------------------------------------------------- */

/* Report each routable address of `a` missing from `b` with `flag`, counting
 * only interfaces interesting in both (mrt__link_note_view covers the
 * others). With no list, the first one found settles the flag. */
static void addr_missing(const mrt__link_snapshot *a, const mrt__link_snapshot *b, uint32_t flag,
                         struct change_sink *k) {
  for (size_t i = 0; i < a->st.addrs.cap; i++) {
    const struct addr_entry *e = &a->st.addrs.slots[i];
    const struct iface *ifc;

    if (e->ifindex <= 0 || !mrt__link_addr_routable(&e->k))
      continue;
    ifc = mrt__link_iface_find(a, e->ifindex);
    if (!mrt__link_iface_interesting(ifc) ||
        !mrt__link_iface_interesting(mrt__link_iface_find(b, e->ifindex)))
      continue;
    if (mrt__link_table_find(&b->st.addrs, e->ifindex, &e->k) != SIZE_MAX)
      continue;
    mrt__link_note_addr(k, e->ifindex, ifc->name, &e->k, flag);
    if (!k->list)
      return;
  }
}

/* The name to report for an interface seen as `a` before and `b` after
 * (either may be NULL): the newer one that is known. */
static const char *name_of(const struct iface *a, const struct iface *b) {
  if (b && b->known)
    return b->name;
  return a ? a->name : "";
}

int mrt__link_snapshot_diff(const mrt__link_snapshot *from, const mrt__link_snapshot *to,
                            uint32_t *flags_out, mrt__link_changes *changes_out) {
  struct change_sink k = {0, changes_out};
  struct default_view d_from, d_to;
  size_t i = 0, j = 0;

  if (!from || !to || !flags_out)
    return -EINVAL;
  /* Both arrays are sorted by ifindex: walk them as a merge. */
  while (i < from->st.nifaces || j < to->st.nifaces) {
    const struct iface *a = i < from->st.nifaces ? &from->st.ifaces[i] : NULL;
    const struct iface *b = j < to->st.nifaces ? &to->st.ifaces[j] : NULL;

    if (a && b && a->ifindex != b->ifindex) {
      if (a->ifindex < b->ifindex)
        b = NULL;
      else
        a = NULL;
    }
    i += a != NULL;
    j += b != NULL;
    mrt__link_note_view(&k, from, to, b ? b->ifindex : a->ifindex, name_of(a, b),
                        mrt__link_view_of(a), mrt__link_view_of(b),
                        mrt__link_iface_interesting(a) && !mrt__link_iface_interesting(b));
  }
  addr_missing(from, to, MRT_LINK_CHANGE_ADDR_REMOVED, &k);
  addr_missing(to, from, MRT_LINK_CHANGE_ADDR_ADDED, &k);
  mrt__link_defaults_get(from, &d_from);
  mrt__link_defaults_get(to, &d_to);
  mrt__link_note_defaults(&k, &d_from, &d_to);
  if (changes_out)
    changes_out->flags |= k.flags; /* also what was only counted */
  *flags_out = k.flags;
  return 0;
}

static bool iface_equal(const struct iface *a, const struct iface *b) {
  if (a->ifindex != b->ifindex || strcmp(a->name, b->name) != 0 || a->flags != b->flags ||
      a->known != b->known || a->ignored != b->ignored || a->naddrs != b->naddrs)
    return false;
  return true;
}

bool mrt__link_snapshot_equal(const mrt__link_snapshot *a, const mrt__link_snapshot *b) {
  if (!a || !b)
    return a == b;
  if (a->st.nifaces != b->st.nifaces || a->st.nroutes != b->st.nroutes ||
      a->st.addrs.used != b->st.addrs.used)
    return false;
  for (size_t i = 0; i < a->st.nifaces; i++)
    if (!iface_equal(&a->st.ifaces[i], &b->st.ifaces[i]))
      return false;
  for (size_t i = 0; i < a->st.nroutes; i++)
    if (mrt__link_route_index(b, &a->st.routes[i]) < 0)
      return false;
  /* Keys are unique, so equal counts and inclusion make equal sets. */
  for (size_t i = 0; i < a->st.addrs.cap; i++) {
    const struct addr_entry *e = &a->st.addrs.slots[i];
    if (e->ifindex > 0 && mrt__link_table_find(&b->st.addrs, e->ifindex, &e->k) == SIZE_MAX)
      return false;
  }
  return true;
}

/* ---- queries ---------------------------------------------------------- */

int mrt__link_snapshot_foreach_addr(const mrt__link_snapshot *snap,
                                    int (*cb)(const mrt__link_addr_info *info, void *arg),
                                    void *arg) {
  if (!snap || !cb)
    return -EINVAL;
  for (size_t i = 0; i < snap->st.addrs.cap; i++) {
    const struct addr_entry *e = &snap->st.addrs.slots[i];
    const struct iface *ifc;
    mrt__link_addr_info info;
    int rc;

    if (e->ifindex <= 0)
      continue;
    ifc = mrt__link_iface_find(snap, e->ifindex);
    memset(&info, 0, sizeof info);
    info.ifindex = e->ifindex;
    info.ifname = ifc ? ifc->name : "";
    info.family = e->k.family;
    info.prefixlen = e->k.prefixlen;
    memcpy(info.addr, e->k.addr, sizeof info.addr);
    info.routable = mrt__link_addr_routable(&e->k);
    info.interesting = info.routable && mrt__link_iface_interesting(ifc);
    rc = cb(&info, arg);
    if (rc != 0)
      return rc;
  }
  return 0;
}

size_t mrt__link_snapshot_addr_count(const mrt__link_snapshot *snap) {
  return snap ? snap->st.addrs.used : 0;
}

int mrt__link_snapshot_iface(const mrt__link_snapshot *snap, int ifindex,
                             mrt__link_iface_info *out) {
  const struct iface *ifc;

  if (!snap || !out)
    return -EINVAL;
  ifc = mrt__link_iface_find(snap, ifindex);
  if (!ifc)
    return -ENOENT;
  memset(out, 0, sizeof *out);
  out->ifindex = ifc->ifindex;
  memcpy(out->name, ifc->name, IFNAMSIZ);
  out->known = ifc->known;
  out->up = ifc->flags & IFF_UP;
  out->running = ifc->flags & IFF_RUNNING;
  out->loopback = ifc->flags & IFF_LOOPBACK;
  out->ignored = ifc->ignored;
  out->naddrs = ifc->naddrs;
  return 0;
}

int mrt__link_snapshot_default_ifindex(const mrt__link_snapshot *snap, int family) {
  if (!snap || (family != AF_INET && family != AF_INET6))
    return -EINVAL;
  return mrt__link_default_ifindex(snap, family);
}

void mrt__link_snapshot_get_stats(const mrt__link_snapshot *snap, mrt__link_stats *out) {
  if (!out)
    return;
  if (!snap)
    memset(out, 0, sizeof *out);
  else
    *out = snap->stats;
}
