/* meshrt — interface-state snapshot built from rtnetlink messages.
 *
 * The Linux link monitor must raise an event only when something that matters
 * to a rebind changed, and netlink is noisy (repeated RTM_NEWADDR, wireless
 * link chatter, multicast routes) and lossy (ENOBUFS). So every received
 * buffer is parsed here into a snapshot of interfaces, addresses and default
 * routes, and each message reports the interesting difference it made; a
 * fresh dump diffed against the snapshot recovers from lost messages. The
 * data comes from the kernel but is still treated as hostile: every length is
 * checked before use, every attribute validated with libmnl, and malformed
 * messages are counted and skipped without touching the state.
 *
 * Threading: none. A snapshot is owned by the monitor and used from one thread
 * at a time; nothing here blocks, allocates without bound or keeps globals.
 * The rules for "interesting" are documented in link_snapshot.h.
 */
#include "link_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* Capacity limits: far above any real host, low enough that a runaway
 * notification stream cannot exhaust memory. */
#define MAX_IFACES 4096
#define MAX_ADDRS 262144
#define MAX_ROUTES 4096
#define MAX_PATTERNS 256
#define MAX_NEXTHOPS 32

#define KEPT_IFF (IFF_UP | IFF_RUNNING | IFF_LOOPBACK)

struct addr_key {
    uint8_t family;
    uint8_t prefixlen;
    uint8_t addr[16];
};

struct iface {
    int ifindex;
    char name[IFNAMSIZ];
    unsigned flags;    /* only KEPT_IFF bits */
    bool known;        /* a link message was seen; else a placeholder for addresses */
    bool ignored;
    size_t naddrs;     /* its entries in the address table */
    size_t nv4;        /* of which IPv4 */
    size_t nroutable;  /* of which routable by class */
};

/* All addresses of a snapshot live in one open-addressing hash table keyed
 * by (ifindex, family, prefix length, address), so a storm of RTM_NEWADDR /
 * RTM_DELADDR costs O(1) per message however many addresses an interface
 * has. A slot's ifindex is SLOT_EMPTY, SLOT_DEAD (tombstone) or > 0. */
#define SLOT_EMPTY 0
#define SLOT_DEAD (-1)

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

/* Outcome of one message, merged per buffer into apply's return value. */
struct msg_status {
    bool malformed;
    bool nomem;
    int error; /* kernel-reported error code, negative */
};

/* ---- small containers ------------------------------------------------ */

/* Grow `arr` to hold `need` elements; NULL (arr untouched) on failure or
 * when `need` exceeds `limit`. */
static void *reserve(void *arr, size_t *cap, size_t need, size_t elem, size_t limit)
{
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
static size_t iface_pos(const mrt__link_snapshot *s, int ifindex, bool *found)
{
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

static struct iface *iface_find(const mrt__link_snapshot *s, int ifindex)
{
    bool found;
    size_t i = iface_pos(s, ifindex, &found);
    return found ? &s->st.ifaces[i] : NULL;
}

/* Find or insert (as an unknown placeholder) interface `ifindex`. Pointers
 * to other interfaces are invalidated by an insertion. */
static int iface_get_or_add(mrt__link_snapshot *s, int ifindex, struct iface **out)
{
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

static void iface_remove(mrt__link_snapshot *s, struct iface *ifc)
{
    size_t i = (size_t)(ifc - s->st.ifaces);

    memmove(&s->st.ifaces[i], &s->st.ifaces[i + 1], (s->st.nifaces - i - 1) * sizeof *ifc);
    s->st.nifaces--;
}

/* ---- classification --------------------------------------------------- */

static bool addr_equal(const struct addr_key *a, const struct addr_key *b)
{
    size_t alen = a->family == AF_INET ? 4 : 16;
    return a->family == b->family && a->prefixlen == b->prefixlen &&
           memcmp(a->addr, b->addr, alen) == 0;
}

/* Routable by class: what a peer could reach us at, so not unspecified,
 * loopback, link-local or multicast. */
static bool addr_routable(const struct addr_key *k)
{
    static const uint8_t zero[16];
    const uint8_t *a = k->addr;

    if (k->family == AF_INET) {
        return !(a[0] == 0 || a[0] == 127 || (a[0] == 169 && a[1] == 254) ||
                 (a[0] & 0xf0) == 0xe0);
    }
    if (memcmp(a, zero, 16) == 0)
        return false;
    if (memcmp(a, zero, 15) == 0 && a[15] == 1)
        return false;
    return !(a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80));
}

static bool pattern_match(const struct pattern *p, const char *name)
{
    if (p->prefix)
        return strncmp(name, p->text, strlen(p->text)) == 0;
    return strcmp(name, p->text) == 0;
}

static bool name_ignored(const mrt__link_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->npatterns; i++)
        if (pattern_match(&s->patterns[i], name))
            return true;
    return false;
}

static bool iface_interesting(const struct iface *ifc)
{
    return ifc && ifc->known && !(ifc->flags & IFF_LOOPBACK) && !ifc->ignored;
}

static struct iface_view view_of(const struct iface *ifc)
{
    struct iface_view v = { 0, false };

    if (!iface_interesting(ifc))
        return v;
    if (ifc->flags & IFF_UP)
        v.level = (ifc->flags & IFF_RUNNING) ? 2 : 1;
    v.routable = ifc->nroutable > 0;
    return v;
}

/* Flags for an interface going from view `a` to view `b`. An interface that
 * is not interesting counts as down with no addresses, so appearing,
 * vanishing and becoming ignored all fall out of the same comparison. */
static uint32_t view_change(struct iface_view a, struct iface_view b)
{
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

/* ---- address table ---------------------------------------------------- */

static uint32_t addr_hash(int ifindex, const struct addr_key *k)
{
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
static size_t table_find(const struct addr_table *t, int ifindex, const struct addr_key *k)
{
    size_t mask = t->cap - 1;

    if (t->cap == 0)
        return SIZE_MAX;
    for (size_t i = addr_hash(ifindex, k) & mask;; i = (i + 1) & mask) {
        const struct addr_entry *e = &t->slots[i];
        if (e->ifindex == SLOT_EMPTY)
            return SIZE_MAX;
        if (e->ifindex == ifindex && addr_equal(&e->k, k))
            return i;
    }
}

/* Rebuild into `cap` slots, dropping tombstones. */
static int table_rehash(struct addr_table *t, size_t cap)
{
    struct addr_entry *slots = calloc(cap, sizeof *slots);

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        const struct addr_entry *e = &t->slots[i];
        size_t j;

        if (e->ifindex <= 0)
            continue;
        for (j = addr_hash(e->ifindex, &e->k) & (cap - 1); slots[j].ifindex != SLOT_EMPTY;)
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
static int table_insert(struct addr_table *t, int ifindex, const struct addr_key *k)
{
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
    if (t->slots[i].ifindex == SLOT_EMPTY)
        t->filled++;
    t->slots[i].ifindex = ifindex;
    t->slots[i].k = *k;
    t->used++;
    return 0;
}

static void table_remove_at(struct addr_table *t, size_t i)
{
    t->slots[i].ifindex = SLOT_DEAD;
    t->used--;
}

static void table_drop_ifindex(struct addr_table *t, int ifindex)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].ifindex == ifindex)
            table_remove_at(t, i);
}

/* ---- default routes --------------------------------------------------- */

static int default_ifindex(const mrt__link_snapshot *s, int family)
{
    const struct droute *best = NULL;

    for (size_t i = 0; i < s->st.nroutes; i++) {
        const struct droute *r = &s->st.routes[i];
        const struct iface *ifc;

        if (r->family != family)
            continue;
        ifc = iface_find(s, r->oif);
        if (!iface_interesting(ifc) || !(ifc->flags & IFF_UP))
            continue;
        if (!best || r->metric < best->metric ||
            (r->metric == best->metric && r->oif < best->oif))
            best = r;
    }
    return best ? best->oif : 0;
}

static bool route_equal(const struct droute *a, const struct droute *b)
{
    return a->family == b->family && a->oif == b->oif && a->metric == b->metric &&
           a->gw_len == b->gw_len && memcmp(a->gw, b->gw, a->gw_len) == 0;
}

static ssize_t route_index(const mrt__link_snapshot *s, const struct droute *r)
{
    for (size_t i = 0; i < s->st.nroutes; i++)
        if (route_equal(&s->st.routes[i], r))
            return (ssize_t)i;
    return -1;
}

static int route_add(mrt__link_snapshot *s, const struct droute *r)
{
    struct droute *arr;

    if (route_index(s, r) >= 0)
        return 0;
    arr = reserve(s->st.routes, &s->st.cap_routes, s->st.nroutes + 1, sizeof *arr, MAX_ROUTES);
    if (!arr)
        return -ENOMEM;
    s->st.routes = arr;
    arr[s->st.nroutes++] = *r;
    return 0;
}

static void route_remove_at(mrt__link_snapshot *s, size_t i)
{
    s->st.routes[i] = s->st.routes[--s->st.nroutes];
}

/* Drop routes matching every given criterion: family (AF_UNSPEC = any),
 * oif (0 = any), metric (NULL = any). */
static void routes_drop(mrt__link_snapshot *s, int family, int oif, const uint32_t *metric)
{
    size_t i = 0;

    while (i < s->st.nroutes) {
        const struct droute *r = &s->st.routes[i];
        if ((family == AF_UNSPEC || r->family == family) && (oif == 0 || r->oif == oif) &&
            (!metric || r->metric == *metric))
            route_remove_at(s, i);
        else
            i++;
    }
}

/* ---- attribute parsing ------------------------------------------------ */

/* Collect the attributes of [base, base+len) into tb[0..max], skipping
 * unknown types. Unlike mnl_attr_parse, which walks up to the *aligned* end
 * of the message and silently stops at a broken attribute, this walks the
 * exact region and rejects it unless it is a clean sequence of attributes,
 * so a truncated or lying length is never half-trusted. */
static int parse_attrs(const void *base, size_t len, const struct nlattr **tb, uint16_t max)
{
    size_t off = 0;

    memset(tb, 0, ((size_t)max + 1) * sizeof *tb);
    while (len - off >= MNL_ATTR_HDRLEN) {
        const struct nlattr *a = (const struct nlattr *)((const char *)base + off);

        if (!mnl_attr_ok(a, (int)(len - off)))
            return -EBADMSG;
        if (mnl_attr_type_valid(a, max) > 0)
            tb[mnl_attr_get_type(a)] = a;
        off += MNL_ALIGN(a->nla_len);
        if (off > len) /* the last attribute's padding may be cut off */
            off = len;
    }
    return off == len ? 0 : -EBADMSG;
}

/* Check that the message holds its fixed header of `hdrlen` bytes and parse
 * the attributes that follow it. */
static int parse_msg(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
                     uint16_t max)
{
    size_t plen = mnl_nlmsg_get_payload_len(nlh);
    size_t start = MNL_ALIGN(hdrlen);

    if (plen < hdrlen)
        return -EBADMSG;
    if (start > plen)
        start = plen;
    return parse_attrs((const char *)mnl_nlmsg_get_payload(nlh) + start, plen - start, tb, max);
}

static int attr_u32(const struct nlattr *a, uint32_t *out)
{
    if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
        return -EBADMSG;
    *out = mnl_attr_get_u32(a);
    return 0;
}

/* An ifindex carried as u32: 0 and values beyond int are invalid. */
static int attr_ifindex(const struct nlattr *a, int *out)
{
    uint32_t v;

    if (attr_u32(a, &v) < 0 || v == 0 || v > INT_MAX)
        return -EBADMSG;
    *out = (int)v;
    return 0;
}

static int attr_inaddr(const struct nlattr *a, size_t alen, uint8_t *out)
{
    if (mnl_attr_validate2(a, MNL_TYPE_BINARY, alen) < 0)
        return -EBADMSG;
    memcpy(out, mnl_attr_get_payload(a), alen);
    return 0;
}

static int attr_ifname(const struct nlattr *a, char name[IFNAMSIZ])
{
    size_t n;

    memset(name, 0, IFNAMSIZ);
    if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
        return -EBADMSG;
    /* The validator only checks the final NUL; the name itself must be
     * non-empty and fit IFNAMSIZ. */
    n = strnlen(mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
    if (n == 0 || n >= IFNAMSIZ)
        return -EBADMSG;
    memcpy(name, mnl_attr_get_str(a), n);
    name[n] = '\0';
    return 0;
}

/* ---- links ------------------------------------------------------------ */

static int link_update(mrt__link_snapshot *s, int ifindex, const char *name, unsigned ifi_flags,
                       uint32_t *flags)
{
    struct iface *ifc;
    struct iface_view before;
    bool was_up;
    int rc = iface_get_or_add(s, ifindex, &ifc);

    if (rc < 0)
        return rc;
    before = view_of(ifc);
    was_up = ifc->known && (ifc->flags & IFF_UP);
    memcpy(ifc->name, name, IFNAMSIZ);
    ifc->flags = ifi_flags & KEPT_IFF;
    ifc->known = true;
    ifc->ignored = name_ignored(s, ifc->name);
    /* Setting an interface down flushes its routes, and the kernel sends no
     * RTM_DELROUTE for the IPv4 ones; mirror the flush so a stale default
     * route does not come back with the link. */
    if (was_up && !(ifc->flags & IFF_UP))
        routes_drop(s, AF_UNSPEC, ifindex, NULL);
    *flags |= view_change(before, view_of(ifc));
    return 0;
}

static int link_delete(mrt__link_snapshot *s, int ifindex, uint32_t *flags)
{
    struct iface *ifc = iface_find(s, ifindex);
    struct iface_view before;

    if (!ifc)
        return 0;
    before = view_of(ifc);
    iface_remove(s, ifc);
    table_drop_ifindex(&s->st.addrs, ifindex);
    routes_drop(s, AF_UNSPEC, ifindex, NULL);
    *flags |= view_change(before, view_of(NULL));
    return 0;
}

static int apply_link(mrt__link_snapshot *s, const struct nlmsghdr *nlh, uint32_t *flags)
{
    const struct nlattr *tb[IFLA_MAX + 1];
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    char name[IFNAMSIZ];

    if (parse_msg(nlh, sizeof *ifi, tb, IFLA_MAX) < 0)
        return -EBADMSG;
    /* Per-family link messages (AF_BRIDGE) describe bridge ports; a bridge
     * RTM_DELLINK only means a port left its bridge, not that it is gone. */
    if (ifi->ifi_family != AF_UNSPEC)
        return 0;
    if (ifi->ifi_index <= 0)
        return -EBADMSG;
    if (nlh->nlmsg_type == RTM_DELLINK)
        return link_delete(s, ifi->ifi_index, flags);
    if (attr_ifname(tb[IFLA_IFNAME], name) < 0)
        return -EBADMSG;
    return link_update(s, ifi->ifi_index, name, ifi->ifi_flags, flags);
}

/* ---- addresses -------------------------------------------------------- */

/* Keep an interface's address counters in step with the table. */
static void iface_count(struct iface *ifc, const struct addr_key *k, int delta)
{
    ifc->naddrs += (size_t)delta;
    if (k->family == AF_INET)
        ifc->nv4 += (size_t)delta;
    if (addr_routable(k))
        ifc->nroutable += (size_t)delta;
}

static int addr_add(mrt__link_snapshot *s, int ifindex, const struct addr_key *k, uint32_t *flags)
{
    struct iface *ifc;
    int rc;

    /* A repeated RTM_NEWADDR (new lifetimes, DAD finished) is not news. */
    if (table_find(&s->st.addrs, ifindex, k) != SIZE_MAX)
        return 0;
    rc = iface_get_or_add(s, ifindex, &ifc);
    if (rc < 0)
        return rc;
    rc = table_insert(&s->st.addrs, ifindex, k);
    if (rc < 0) {
        if (!ifc->known && ifc->naddrs == 0)
            iface_remove(s, ifc);
        return rc;
    }
    iface_count(ifc, k, +1);
    if (addr_routable(k) && iface_interesting(ifc))
        *flags |= MRT_LINK_CHANGE_ADDR_ADDED;
    return 0;
}

static int addr_del(mrt__link_snapshot *s, int ifindex, const struct addr_key *k, uint32_t *flags)
{
    size_t i = table_find(&s->st.addrs, ifindex, k);
    struct iface *ifc = iface_find(s, ifindex);

    if (i == SIZE_MAX || !ifc)
        return 0;
    table_remove_at(&s->st.addrs, i);
    iface_count(ifc, k, -1);
    if (addr_routable(k) && iface_interesting(ifc))
        *flags |= MRT_LINK_CHANGE_ADDR_REMOVED;
    /* Removing the last IPv4 address disables IPv4 on the interface and the
     * kernel flushes its IPv4 routes without notifying; do the same. */
    if (k->family == AF_INET && ifc->nv4 == 0)
        routes_drop(s, AF_INET, ifindex, NULL);
    if (!ifc->known && ifc->naddrs == 0)
        iface_remove(s, ifc);
    return 0;
}

static int apply_addr(mrt__link_snapshot *s, const struct nlmsghdr *nlh, uint32_t *flags)
{
    const struct nlattr *tb[IFA_MAX + 1];
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *a;
    struct addr_key k;
    size_t alen;

    if (parse_msg(nlh, sizeof *ifa, tb, IFA_MAX) < 0)
        return -EBADMSG;
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return 0;
    alen = ifa->ifa_family == AF_INET ? 4 : 16;
    if (ifa->ifa_index == 0 || ifa->ifa_index > INT_MAX || ifa->ifa_prefixlen > alen * 8)
        return -EBADMSG;
    /* IFA_LOCAL is our own address; IFA_ADDRESS is the peer on IPv4
     * point-to-point links and the only address attribute otherwise. */
    a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    memset(&k, 0, sizeof k);
    if (!a || attr_inaddr(a, alen, k.addr) < 0)
        return -EBADMSG;
    k.family = ifa->ifa_family;
    k.prefixlen = ifa->ifa_prefixlen;
    if (nlh->nlmsg_type == RTM_NEWADDR)
        return addr_add(s, (int)ifa->ifa_index, &k, flags);
    return addr_del(s, (int)ifa->ifa_index, &k, flags);
}

/* ---- routes ----------------------------------------------------------- */

/* Validate and collect the nexthops of an RTA_MULTIPATH attribute. Each
 * struct rtnexthop carries its own length; none is trusted until it is shown
 * to fit. Nexthops beyond `cap` are validated but not kept. */
static int parse_multipath(const struct nlattr *mp, const struct droute *tmpl,
                           struct droute *out, size_t cap, size_t *n)
{
    const char *p;
    size_t len, off = 0;

    if (mnl_attr_validate(mp, MNL_TYPE_BINARY) < 0)
        return -EBADMSG;
    p = mnl_attr_get_payload(mp);
    len = mnl_attr_get_payload_len(mp);
    while (len - off >= sizeof(struct rtnexthop)) {
        const struct rtnexthop *nh = (const struct rtnexthop *)(p + off);
        const struct nlattr *tb[RTA_MAX + 1];
        struct droute r = *tmpl;

        if (nh->rtnh_len < sizeof *nh || nh->rtnh_len > len - off || nh->rtnh_ifindex <= 0)
            return -EBADMSG;
        if (parse_attrs(p + off + sizeof *nh, nh->rtnh_len - sizeof *nh, tb, RTA_MAX) < 0)
            return -EBADMSG;
        r.oif = nh->rtnh_ifindex;
        if (tb[RTA_GATEWAY] && attr_inaddr(tb[RTA_GATEWAY], r.gw_len, r.gw) < 0)
            return -EBADMSG;
        if (!tb[RTA_GATEWAY])
            r.gw_len = 0;
        if (*n < cap)
            out[(*n)++] = r;
        off += RTNH_ALIGN(nh->rtnh_len);
        if (off > len)
            off = len;
    }
    return off == len ? 0 : -EBADMSG;
}

/* The nexthops of a default route: one from RTA_OIF/RTA_GATEWAY, or several
 * from RTA_MULTIPATH. None for routes through nexthop objects or with no
 * device (blackhole-like), which cannot be attributed to an interface. */
static int route_nexthops(const struct nlattr **tb, const struct droute *tmpl,
                          struct droute *out, size_t *n)
{
    *n = 0;
    if (tb[RTA_OIF]) {
        out[0] = *tmpl;
        if (attr_ifindex(tb[RTA_OIF], &out[0].oif) < 0)
            return -EBADMSG;
        if (!tb[RTA_GATEWAY])
            out[0].gw_len = 0;
        else if (attr_inaddr(tb[RTA_GATEWAY], out[0].gw_len, out[0].gw) < 0)
            return -EBADMSG;
        *n = 1;
        return 0;
    }
    if (tb[RTA_MULTIPATH])
        return parse_multipath(tb[RTA_MULTIPATH], tmpl, out, MAX_NEXTHOPS, n);
    return 0;
}

static int route_store(mrt__link_snapshot *s, const struct nlmsghdr *nlh,
                       const struct droute *nhs, size_t n)
{
    if (nlh->nlmsg_type == RTM_DELROUTE) {
        for (size_t i = 0; i < n; i++) {
            ssize_t at = route_index(s, &nhs[i]);
            if (at >= 0)
                route_remove_at(s, (size_t)at);
        }
        return 0;
    }
    /* A replace is announced alone: no RTM_DELROUTE follows for the route it
     * displaced (same family, prefix, table and metric). Dump replies reuse
     * that flag bit as NLM_F_ROOT, hence the NLM_F_MULTI check. */
    if ((nlh->nlmsg_flags & NLM_F_REPLACE) && !(nlh->nlmsg_flags & NLM_F_MULTI))
        routes_drop(s, nhs[0].family, 0, &nhs[0].metric);
    for (size_t i = 0; i < n; i++) {
        int rc = route_add(s, &nhs[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int apply_route(mrt__link_snapshot *s, const struct nlmsghdr *nlh)
{
    const struct nlattr *tb[RTA_MAX + 1];
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    struct droute tmpl, nhs[MAX_NEXTHOPS];
    uint32_t table;
    size_t n;

    if (parse_msg(nlh, sizeof *rtm, tb, RTA_MAX) < 0)
        return -EBADMSG;
    if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
        return 0;
    table = rtm->rtm_table;
    if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], &table) < 0)
        return -EBADMSG;
    /* Only the main table's unicast default route says where traffic
     * leaves; multicast, link-local and prefix routes and the host's own
     * tables are noise here. */
    if (table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len != 0 ||
        rtm->rtm_src_len != 0)
        return 0;
    memset(&tmpl, 0, sizeof tmpl);
    tmpl.family = rtm->rtm_family;
    tmpl.gw_len = rtm->rtm_family == AF_INET ? 4 : 16;
    if (tb[RTA_PRIORITY] && attr_u32(tb[RTA_PRIORITY], &tmpl.metric) < 0)
        return -EBADMSG;
    if (route_nexthops(tb, &tmpl, nhs, &n) < 0)
        return -EBADMSG;
    return n ? route_store(s, nlh, nhs, n) : 0;
}

/* ---- message dispatch ------------------------------------------------- */

/* Apply one RTM_* message to one snapshot and OR its flags into *flags.
 * Returns 0, -EBADMSG or -ENOMEM. */
static int apply_rtm(mrt__link_snapshot *s, const struct nlmsghdr *nlh, uint32_t *flags)
{
    int d4 = default_ifindex(s, AF_INET), d6 = default_ifindex(s, AF_INET6);
    int rc;

    switch (nlh->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
        rc = apply_link(s, nlh, flags);
        break;
    case RTM_NEWADDR:
    case RTM_DELADDR:
        rc = apply_addr(s, nlh, flags);
        break;
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
        rc = apply_route(s, nlh);
        break;
    default:
        return 0; /* other families (neighbours, rules) are not ours */
    }
    if (default_ifindex(s, AF_INET) != d4 || default_ifindex(s, AF_INET6) != d6)
        *flags |= MRT_LINK_CHANGE_DEFAULT_ROUTE;
    return rc;
}

/* Record a kernel error code. Valid codes are negative errnos; anything else
 * is mapped to -EIO so a hostile value cannot pose as success or a count. */
static int record_error(mrt__link_snapshot *s, int err)
{
    if (err >= 0 || err < -4095)
        err = -EIO;
    s->stats.errors++;
    s->stats.last_error = err;
    return err;
}

static void apply_control(mrt__link_snapshot *s, const struct nlmsghdr *nlh,
                          struct msg_status *st)
{
    size_t plen = mnl_nlmsg_get_payload_len(nlh);
    bool dump_part = s->pending && (nlh->nlmsg_flags & NLM_F_MULTI);
    int err = 0;

    if (nlh->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        if (plen < sizeof *e) {
            st->malformed = true;
            return;
        }
        if (e->error == 0) /* an ACK */
            return;
        st->error = record_error(s, e->error);
        /* A dump request refused outright is answered by NLMSG_ERROR, not
         * NLMSG_DONE; count it as a dump that ended, failed, so a resync
         * moves on (and is retried) instead of waiting forever. */
        if (s->pending) {
            s->pending_dumps_done++;
            s->pending_inconsistent = true;
        }
        return;
    }
    /* NLMSG_DONE carries the dump's result code (older kernels: nothing). */
    if (plen >= sizeof err)
        memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
    if (err != 0)
        st->error = record_error(s, err);
    if (dump_part) {
        s->pending_dumps_done++;
        if (err != 0) /* a failed dump leaves the pending state incomplete */
            s->pending_inconsistent = true;
    }
}

static void merge_rc(struct msg_status *st, int rc)
{
    if (rc == -EBADMSG)
        st->malformed = true;
    else if (rc == -ENOMEM)
        st->nomem = true;
}

/* Route one message: during a resync, dump replies (NLM_F_MULTI) build the
 * pending snapshot only, and live notifications update both, so the final
 * diff shows just what was lost. */
static void apply_one(mrt__link_snapshot *s, const struct nlmsghdr *nlh, uint32_t *flags,
                      struct msg_status *st)
{
    uint32_t discard = 0;
    bool dump_part = nlh->nlmsg_flags & NLM_F_MULTI;

    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) {
        s->stats.dump_interrupted++;
        if (s->pending && dump_part)
            s->pending_inconsistent = true;
    }
    if (nlh->nlmsg_type == NLMSG_NOOP)
        return;
    if (nlh->nlmsg_type == NLMSG_ERROR || nlh->nlmsg_type == NLMSG_DONE) {
        apply_control(s, nlh, st);
        return;
    }
    if (s->pending && dump_part) {
        merge_rc(st, apply_rtm(s->pending, nlh, &discard));
        return;
    }
    merge_rc(st, apply_rtm(s, nlh, flags));
    if (s->pending)
        merge_rc(st, apply_rtm(s->pending, nlh, &discard));
}

/* libmnl's mnl_nlmsg_ok compares nlmsg_len through a signed cast, so a
 * length of 2^31 or more passes; check it as unsigned too. */
static bool frame_ok(const struct nlmsghdr *nlh, size_t remaining)
{
    return mnl_nlmsg_ok(nlh, (int)remaining) && nlh->nlmsg_len <= remaining;
}

int mrt__link_snapshot_apply(mrt__link_snapshot *snap, const void *buf, size_t len,
                             uint32_t *flags_out)
{
    struct msg_status total = { false, false, 0 };
    uint32_t flags = 0;
    size_t off = 0;
    int accepted = 0;

    if (!snap || (!buf && len) || len > INT_MAX || ((uintptr_t)buf & 3u))
        return -EINVAL;
    while (off < len) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const char *)buf + off);
        struct msg_status st = { false, false, 0 };

        /* A frame that does not fit leaves nothing after it parseable. */
        if (!frame_ok(nlh, len - off)) {
            snap->stats.malformed++;
            total.malformed = true;
            break;
        }
        apply_one(snap, nlh, &flags, &st);
        if (st.malformed) {
            snap->stats.malformed++;
        } else {
            snap->stats.messages++;
            accepted++;
        }
        total.malformed |= st.malformed;
        total.nomem |= st.nomem;
        if (st.error)
            total.error = st.error;
        off += MNL_ALIGN(nlh->nlmsg_len);
    }
    if (flags_out)
        *flags_out |= flags;
    if (total.nomem)
        return -ENOMEM;
    if (total.malformed)
        return -EBADMSG;
    return total.error ? total.error : accepted;
}

/* ---- lifecycle and rules ---------------------------------------------- */

int mrt__link_snapshot_new(mrt__link_snapshot **out)
{
    if (!out)
        return -EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -ENOMEM;
}

static void free_state(struct link_state *st)
{
    free(st->ifaces);
    free(st->routes);
    free(st->addrs.slots);
}

void mrt__link_snapshot_free(mrt__link_snapshot *snap)
{
    if (!snap)
        return;
    mrt__link_snapshot_abort_resync(snap);
    free_state(&snap->st);
    if (!snap->patterns_borrowed)
        free(snap->patterns);
    free(snap);
}

static int pattern_parse(const char *text, struct pattern *out)
{
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
static uint32_t reclassify(mrt__link_snapshot *s)
{
    int d4 = default_ifindex(s, AF_INET), d6 = default_ifindex(s, AF_INET6);
    uint32_t f = 0;

    for (size_t i = 0; i < s->st.nifaces; i++) {
        struct iface *ifc = &s->st.ifaces[i];
        struct iface_view before = view_of(ifc);

        ifc->ignored = ifc->known && name_ignored(s, ifc->name);
        f |= view_change(before, view_of(ifc));
    }
    if (default_ifindex(s, AF_INET) != d4 || default_ifindex(s, AF_INET6) != d6)
        f |= MRT_LINK_CHANGE_DEFAULT_ROUTE;
    return f;
}

int mrt__link_snapshot_set_ignored(mrt__link_snapshot *snap, const char *const *patterns,
                                   size_t npatterns, uint32_t *flags_out)
{
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

int mrt__link_snapshot_begin_resync(mrt__link_snapshot *snap)
{
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

bool mrt__link_snapshot_resyncing(const mrt__link_snapshot *snap)
{
    return snap && snap->pending;
}

int mrt__link_snapshot_resync_dumps_done(const mrt__link_snapshot *snap)
{
    if (!snap || !snap->pending)
        return -EINVAL;
    return snap->pending_dumps_done;
}

void mrt__link_snapshot_abort_resync(mrt__link_snapshot *snap)
{
    if (!snap || !snap->pending)
        return;
    mrt__link_snapshot_free(snap->pending);
    snap->pending = NULL;
}

int mrt__link_snapshot_finish_resync(mrt__link_snapshot *snap, uint32_t *flags_out)
{
    mrt__link_snapshot *p;
    struct link_state old;
    bool inconsistent;
    uint32_t f = 0;

    if (!snap || !snap->pending)
        return -EINVAL;
    p = snap->pending;
    mrt__link_snapshot_diff(snap, p, &f);
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

/* `flag` if some routable address of `a` is missing from `b`, counting only
 * interfaces interesting in both (view_change covers the others). */
static uint32_t addr_missing(const mrt__link_snapshot *a, const mrt__link_snapshot *b,
                             uint32_t flag)
{
    for (size_t i = 0; i < a->st.addrs.cap; i++) {
        const struct addr_entry *e = &a->st.addrs.slots[i];

        if (e->ifindex <= 0 || !addr_routable(&e->k))
            continue;
        if (!iface_interesting(iface_find(a, e->ifindex)) ||
            !iface_interesting(iface_find(b, e->ifindex)))
            continue;
        if (table_find(&b->st.addrs, e->ifindex, &e->k) == SIZE_MAX)
            return flag;
    }
    return 0;
}

int mrt__link_snapshot_diff(const mrt__link_snapshot *from, const mrt__link_snapshot *to,
                            uint32_t *flags_out)
{
    size_t i = 0, j = 0;
    uint32_t f = 0;

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
        f |= view_change(view_of(a), view_of(b));
    }
    f |= addr_missing(from, to, MRT_LINK_CHANGE_ADDR_REMOVED);
    f |= addr_missing(to, from, MRT_LINK_CHANGE_ADDR_ADDED);
    if (default_ifindex(from, AF_INET) != default_ifindex(to, AF_INET) ||
        default_ifindex(from, AF_INET6) != default_ifindex(to, AF_INET6))
        f |= MRT_LINK_CHANGE_DEFAULT_ROUTE;
    *flags_out = f;
    return 0;
}

static bool iface_equal(const struct iface *a, const struct iface *b)
{
    if (a->ifindex != b->ifindex || strcmp(a->name, b->name) != 0 || a->flags != b->flags ||
        a->known != b->known || a->ignored != b->ignored || a->naddrs != b->naddrs)
        return false;
    return true;
}

bool mrt__link_snapshot_equal(const mrt__link_snapshot *a, const mrt__link_snapshot *b)
{
    if (!a || !b)
        return a == b;
    if (a->st.nifaces != b->st.nifaces || a->st.nroutes != b->st.nroutes ||
        a->st.addrs.used != b->st.addrs.used)
        return false;
    for (size_t i = 0; i < a->st.nifaces; i++)
        if (!iface_equal(&a->st.ifaces[i], &b->st.ifaces[i]))
            return false;
    for (size_t i = 0; i < a->st.nroutes; i++)
        if (route_index(b, &a->st.routes[i]) < 0)
            return false;
    /* Keys are unique, so equal counts and inclusion make equal sets. */
    for (size_t i = 0; i < a->st.addrs.cap; i++) {
        const struct addr_entry *e = &a->st.addrs.slots[i];
        if (e->ifindex > 0 && table_find(&b->st.addrs, e->ifindex, &e->k) == SIZE_MAX)
            return false;
    }
    return true;
}

/* ---- queries ---------------------------------------------------------- */

int mrt__link_snapshot_foreach_addr(const mrt__link_snapshot *snap,
                                    int (*cb)(const mrt__link_addr_info *info, void *arg),
                                    void *arg)
{
    if (!snap || !cb)
        return -EINVAL;
    for (size_t i = 0; i < snap->st.addrs.cap; i++) {
        const struct addr_entry *e = &snap->st.addrs.slots[i];
        const struct iface *ifc;
        mrt__link_addr_info info;
        int rc;

        if (e->ifindex <= 0)
            continue;
        ifc = iface_find(snap, e->ifindex);
        memset(&info, 0, sizeof info);
        info.ifindex = e->ifindex;
        info.ifname = ifc ? ifc->name : "";
        info.family = e->k.family;
        info.prefixlen = e->k.prefixlen;
        memcpy(info.addr, e->k.addr, sizeof info.addr);
        info.routable = addr_routable(&e->k);
        info.interesting = info.routable && iface_interesting(ifc);
        rc = cb(&info, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

size_t mrt__link_snapshot_addr_count(const mrt__link_snapshot *snap)
{
    return snap ? snap->st.addrs.used : 0;
}

int mrt__link_snapshot_iface(const mrt__link_snapshot *snap, int ifindex,
                             mrt__link_iface_info *out)
{
    const struct iface *ifc;

    if (!snap || !out)
        return -EINVAL;
    ifc = iface_find(snap, ifindex);
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

int mrt__link_snapshot_default_ifindex(const mrt__link_snapshot *snap, int family)
{
    if (!snap || (family != AF_INET && family != AF_INET6))
        return -EINVAL;
    return default_ifindex(snap, family);
}

void mrt__link_snapshot_get_stats(const mrt__link_snapshot *snap, mrt__link_stats *out)
{
    if (!out)
        return;
    if (!snap)
        memset(out, 0, sizeof *out);
    else
        *out = snap->stats;
}

/* ---- public flag rendering -------------------------------------------- */

/* Append ",item" (or "item" first); `used` saturates at cap - 1 so that once
 * the buffer is full, later items are dropped and the text stays terminated. */
static void append_item(char *buf, size_t cap, size_t *used, const char *item)
{
    int n = snprintf(buf + *used, cap - *used, "%s%s", *used ? "," : "", item);

    if (n < 0)
        return;
    *used += (size_t)n;
    if (*used >= cap)
        *used = cap - 1;
}

/* Lives with the snapshot because the snapshot is what produces the flags. */
const char *mrt_link_change_flags_str(uint32_t flags, char *buf, size_t cap)
{
    static const char *const names[] = { "link-up",      "link-down",     "addr-added",
                                         "addr-removed", "default-route", "resync" };
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
